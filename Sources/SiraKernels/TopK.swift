/// Row-wise top-k: for each of `rows` rows of `cols` values (row stride `ld`, default `cols`),
/// writes the `k` largest into `values[r*k ..< r*k+k]` in descending order and their column
/// indices into `indices`. Equal values are ordered by the lower column index first; NaN is
/// never preferred over a number. Requires `1 <= k <= cols`.
public func topKRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int? = nil, k: Int,
                     indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>) {
    precondition(k >= 1 && k <= cols, "topKRows: k=\(k) must be in 1...\(cols)")
    let ld = ld ?? cols
    for r in 0..<rows {
        let xr = x + r &* ld
        let outI = indices + r &* k, outV = values + r &* k
        // Insertion into a sorted list of k: a column displaces an entry only if strictly greater,
        // so among equal values the earlier (lower) column stays ahead.
        var filled = 0
        for j in 0..<cols {
            let v = xr[j]
            var pos = filled
            while pos > 0 && isBetter(v, than: outV[pos - 1]) { pos -= 1 }
            if pos >= k { continue }
            var q = min(filled, k - 1)
            while q > pos { outV[q] = outV[q - 1]; outI[q] = outI[q - 1]; q -= 1 }
            outV[pos] = v
            outI[pos] = Int32(j)
            if filled < k { filled += 1 }
        }
    }
}

/// Strict order used by top-k: numbers by value, any number above NaN.
@inline(__always)
func isBetter(_ a: Float, than b: Float) -> Bool {
    if b.isNaN { return !a.isNaN }
    return a > b
}
