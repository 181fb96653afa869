// RMSNorm (Llama): y = x * rsqrt(mean(x²) + eps) * w, per row.

/// Forward over `rows` rows of `dim` contiguous floats (row stride `dim`).
/// - `x`, `y`: `[rows, dim]` (`y` may be `x`); `weight`: `[dim]`.
/// - `invRMS`: `[rows]`, receives `rsqrt(mean(x²) + eps)` per row for the backward pass.
/// - `threads`: rows split over threads when there is enough work; results do not depend on it.
public func rmsNormForward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           y: UnsafeMutablePointer<Float>, invRMS: UnsafeMutablePointer<Float>,
                           rows: Int, dim: Int, eps: Float, threads: Int? = nil) {
    let shared = UncheckedSendable((x, weight, y, invRMS))
    parallelRanges(rows, minimum: max(1, 16384 / max(dim, 1)), threads: threads) { range in
        let (x, weight, y, invRMS) = shared.value
        for r in range {
            let xr = x + r &* dim, yr = y + r &* dim
            let ss = sumOfSquares(xr, dim)
            let inv = Float(1 / (Double(ss) / Double(dim) + Double(eps)).squareRoot())
            invRMS[r] = inv
            let iv = SIMD8(repeating: inv)
            forEachSIMD8(dim) { j, n in storePartial(yr + j, loadPartial(xr + j, n) * iv * loadPartial(weight + j, n), n) }
        }
    }
}

/// Backward of `rmsNormForward`, ACCUMULATING: `dx += ∂L/∂x`, `dWeight += ∂L/∂w` (summed over rows).
/// - `x`: the forward input `[rows, dim]`; `invRMS`: from the forward; `dy`: `∂L/∂y` `[rows, dim]`.
/// With `n = x * inv`: `dx = inv * (g - n * mean(g * n))` where `g = dy * w`. `dx` is split over
/// rows, `dWeight` over columns (each column summed over rows in order), so results do not
/// depend on `threads`.
public func rmsNormBackward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, invRMS: UnsafePointer<Float>,
                            dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                            dWeight: UnsafeMutablePointer<Float>, rows: Int, dim: Int, threads: Int? = nil) {
    let shared = UncheckedSendable((x, weight, invRMS, dy, dx, dWeight))
    parallelRanges(rows, minimum: max(1, 16384 / max(dim, 1)), threads: threads) { range in
        let (x, weight, invRMS, dy, dx, _) = shared.value
        for r in range {
            let xr = x + r &* dim, dyr = dy + r &* dim, dxr = dx + r &* dim
            let inv = invRMS[r]
            var dotv = SIMD8<Float>()
            forEachSIMD8(dim) { j, n in dotv += loadPartial(dyr + j, n) * loadPartial(weight + j, n) * loadPartial(xr + j, n) }
            let meanGN = SIMD8(repeating: dotv.sum() * inv / Float(dim))
            let iv = SIMD8(repeating: inv)
            forEachSIMD8(dim) { j, n in
                let nv = loadPartial(xr + j, n) * iv
                let g = loadPartial(dyr + j, n) * loadPartial(weight + j, n)
                storePartial(dxr + j, loadPartial(dxr + j, n) + iv * (g - nv * meanGN), n)
            }
        }
    }
    // dWeight[j] += Σ_r dy[r, j] * x[r, j] * inv[r], columns in blocks of 8.
    let blocks = (dim + 7) / 8
    parallelRanges(blocks, minimum: max(1, 16384 / max(rows * 8, 1)), threads: threads) { range in
        let (x, _, invRMS, dy, _, dWeight) = shared.value
        for b in range {
            let j = b &* 8, n = min(8, dim &- j)
            var acc = SIMD8<Float>()
            for r in 0..<rows {
                acc += loadPartial(dy + (r &* dim &+ j), n) * (loadPartial(x + (r &* dim &+ j), n) * SIMD8(repeating: invRMS[r]))
            }
            storePartial(dWeight + j, loadPartial(dWeight + j, n) + acc, n)
        }
    }
}

/// Σ x² over `count` floats, in eight independent lanes so it vectorises.
@inline(__always)
func sumOfSquares(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = SIMD8<Float>()
    forEachSIMD8(count) { j, n in
        let v = loadPartial(x + j, n)
        acc = acc.addingProduct(v, v)
    }
    return acc.sum()
}
