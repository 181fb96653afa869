// RMSNorm (Llama): y = x * rsqrt(mean(x²) + eps) * w, per row.

/// Forward over `rows` rows of `dim` contiguous floats (row stride `dim`).
/// - `x`, `y`: `[rows, dim]` (`y` may be `x`); `weight`: `[dim]`.
/// - `invRMS`: `[rows]`, receives `rsqrt(mean(x²) + eps)` per row for the backward pass.
public func rmsNormForward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           y: UnsafeMutablePointer<Float>, invRMS: UnsafeMutablePointer<Float>,
                           rows: Int, dim: Int, eps: Float) {
    for r in 0..<rows {
        let xr = x + r &* dim, yr = y + r &* dim
        let ss = sumOfSquares(xr, dim)
        let inv = Float(1 / (Double(ss) / Double(dim) + Double(eps)).squareRoot())
        invRMS[r] = inv
        for j in 0..<dim { yr[j] = xr[j] * inv * weight[j] }
    }
}

/// Backward of `rmsNormForward`, ACCUMULATING: `dx += ∂L/∂x`, `dWeight += ∂L/∂w` (summed over rows).
/// - `x`: the forward input `[rows, dim]`; `invRMS`: from the forward; `dy`: `∂L/∂y` `[rows, dim]`.
/// With `n = x * inv`: `dx = inv * (g - n * mean(g * n))` where `g = dy * w`.
public func rmsNormBackward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, invRMS: UnsafePointer<Float>,
                            dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                            dWeight: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
        let xr = x + r &* dim, dyr = dy + r &* dim, dxr = dx + r &* dim
        let inv = invRMS[r]
        var dot: Float = 0
        for j in 0..<dim { dot += dyr[j] * weight[j] * xr[j] }
        let meanGN = dot * inv / Float(dim)
        for j in 0..<dim {
            let n = xr[j] * inv
            dxr[j] += inv * (dyr[j] * weight[j] - n * meanGN)
            dWeight[j] += dyr[j] * n
        }
    }
}

/// Σ x² over `count` floats, in eight independent lanes so it vectorises.
@inline(__always)
func sumOfSquares(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = SIMD8<Float>()
    var j = 0
    while j &+ 8 <= count {
        let v = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
        acc = acc.addingProduct(v, v)
        j &+= 8
    }
    var s = acc.sum()
    while j < count { s += x[j] * x[j]; j &+= 1 }
    return s
}
