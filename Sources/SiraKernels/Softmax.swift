import Foundation

// Row softmax with an optional causal mask (attention probabilities).

/// `y[r, j] = exp(scale*x[r, j] - max) / Σ` over the unmasked columns of each row; masked entries
/// of `y` are set to 0.
/// - `x`, `y`: `[rows, cols]` with row stride `ld` (default `cols`); `y` may be `x`.
/// - `causalOffset`: nil for no mask; otherwise row `r` keeps columns `j <= r + causalOffset`
///   (for a `[T, T]` score block of one head, 0; for queries at positions `p..<p+T` against keys
///   `0..<p+T`, `p`). Every row must keep at least column 0 (`r + causalOffset >= 0`).
public func softmaxForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                           ld: Int? = nil, scale: Float = 1, causalOffset: Int? = nil) {
    let ld = ld ?? cols
    for r in 0..<rows {
        let xr = x + r &* ld, yr = y + r &* ld
        let valid = softmaxValidColumns(row: r, cols: cols, causalOffset: causalOffset)
        var mx = -Float.infinity
        for j in 0..<valid { mx = max(mx, scale * xr[j]) }
        var sum: Float = 0
        for j in 0..<valid {
            let e = expf(scale * xr[j] - mx)
            yr[j] = e
            sum += e
        }
        let inv = 1 / sum
        for j in 0..<valid { yr[j] *= inv }
        if valid < cols { (yr + valid).update(repeating: 0, count: cols - valid) }
    }
}

/// Backward of `softmaxForward`, ACCUMULATING `dx += scale * y * (dy - Σ_j y_j dy_j)` per row
/// (masked entries get 0). `y` is the forward output; shapes and `ld` as in the forward.
public func softmaxBackward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                            rows: Int, cols: Int, ld: Int? = nil, scale: Float = 1, causalOffset: Int? = nil) {
    let ld = ld ?? cols
    for r in 0..<rows {
        let yr = y + r &* ld, dyr = dy + r &* ld, dxr = dx + r &* ld
        let valid = softmaxValidColumns(row: r, cols: cols, causalOffset: causalOffset)
        var dot: Float = 0
        for j in 0..<valid { dot += yr[j] * dyr[j] }
        for j in 0..<valid { dxr[j] += scale * yr[j] * (dyr[j] - dot) }
    }
}

@inline(__always)
func softmaxValidColumns(row: Int, cols: Int, causalOffset: Int?) -> Int {
    guard let offset = causalOffset else { return cols }
    let valid = min(cols, row + offset + 1)
    precondition(valid >= 1, "softmax: causal mask leaves row \(row) empty")
    return valid
}
