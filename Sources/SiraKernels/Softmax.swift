// Row softmax with an optional causal mask (attention probabilities).

/// `y[r, j] = exp(scale*x[r, j] - max) / Σ` over the unmasked columns of each row; masked entries
/// of `y` are set to 0.
/// - `x`, `y`: `[rows, cols]` with row stride `ld` (default `cols`); `y` may be `x`.
/// - `causalOffset`: nil for no mask; otherwise row `r` keeps columns `j <= r + causalOffset`
///   (for a `[T, T]` score block of one head, 0; for queries at positions `p..<p+T` against keys
///   `0..<p+T`, `p`). Every row must keep at least column 0 (`r + causalOffset >= 0`).
/// - `threads`: rows are split over threads when there is enough work (nil: `KernelThreads.count`);
///   results do not depend on it.
public func softmaxForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                           ld: Int? = nil, scale: Float = 1, causalOffset: Int? = nil, threads: Int? = nil) {
    let ld = ld ?? cols
    let shared = UncheckedSendable((x, y))
    parallelRanges(rows, minimum: max(1, 16384 / max(cols, 1)), threads: threads) { range in
        let (x, y) = shared.value
        for r in range {
            let valid = softmaxValidColumns(row: r, cols: cols, causalOffset: causalOffset)
            softmaxRow(x + r &* ld, y + r &* ld, valid: valid, scale: scale)
            if valid < cols { (y + (r &* ld &+ valid)).update(repeating: 0, count: cols - valid) }
        }
    }
}

/// One row: max, exponentials and their sum, normalisation; SIMD8 with masked tails.
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, valid: Int, scale: Float) {
    var mxv = SIMD8<Float>(repeating: -.infinity)
    forEachSIMD8(valid) { j, n in
        mxv = laneMax(mxv, maskTail(scale * loadPartial(x + j, n), n, -.infinity))
    }
    let mx = SIMD8(repeating: mxv.max())
    var sumv = SIMD8<Float>()
    forEachSIMD8(valid) { j, n in
        let e = maskTail(simdExp(scale * loadPartial(x + j, n) - mx), n, 0)
        storePartial(y + j, e, n)
        sumv += e
    }
    let inv = SIMD8(repeating: 1 / sumv.sum())
    forEachSIMD8(valid) { j, n in storePartial(y + j, loadPartial(y + j, n) * inv, n) }
}

/// Backward of `softmaxForward`, ACCUMULATING `dx += scale * y * (dy - Σ_j y_j dy_j)` per row
/// (masked entries get 0). `y` is the forward output; shapes, `ld` and `threads` as in the forward.
public func softmaxBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                            rows: Int, cols: Int, ld: Int? = nil, scale: Float = 1, causalOffset: Int? = nil,
                            threads: Int? = nil) {
    let ld = ld ?? cols
    let shared = UncheckedSendable((y, dy, dx))
    parallelRanges(rows, minimum: max(1, 16384 / max(cols, 1)), threads: threads) { range in
        let (y, dy, dx) = shared.value
        for r in range {
            let yr = y + r &* ld, dyr = dy + r &* ld, dxr = dx + r &* ld
            let valid = softmaxValidColumns(row: r, cols: cols, causalOffset: causalOffset)
            var dotv = SIMD8<Float>()
            forEachSIMD8(valid) { j, n in dotv += loadPartial(yr + j, n) * loadPartial(dyr + j, n) }
            let dot = SIMD8(repeating: dotv.sum())
            forEachSIMD8(valid) { j, n in
                let g = scale * loadPartial(yr + j, n) * (loadPartial(dyr + j, n) - dot)
                storePartial(dxr + j, loadPartial(dxr + j, n) + g, n)
            }
        }
    }
}

@inline(__always)
func softmaxValidColumns(row: Int, cols: Int, causalOffset: Int?) -> Int {
    guard let offset = causalOffset else { return cols }
    let valid = min(cols, row + offset + 1)
    precondition(valid >= 1, "softmax: causal mask leaves row \(row) empty")
    return valid
}
