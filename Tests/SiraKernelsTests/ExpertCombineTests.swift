import Testing
@testable import SiraKernels

/// `expertCombineAdd` against a naive Double reference of
/// `y[t] += Σ_j scale[row] · h[row] · op(W_e)` over each token's computed slots.
struct ExpertCombineTests {
    @Test("matches the Double reference; threads 1/2/3 bit-identical; padding untouched",
          arguments: [(1, 1), (7, 8), (33, 8), (129, 3), (64, 8)])
    func matchesReference(n: Int, rank: Int) {
        var rng = TestRNG(seed: UInt64(1000 + n * 10 + rank))
        let tokens = 37, slots = 2, experts = 5, rows = 50
        let ldh = rank + 1, ldy = n + 2
        let h = rng.floats(rows * ldh), scale = rng.floats(rows)
        // Some slots not computed (-1), some tokens with none, rows in arbitrary order.
        var slotRows = [Int32](repeating: -1, count: tokens * slots), slotExperts = [Int32](repeating: 0, count: tokens * slots)
        for s in 0..<(tokens * slots) {
            slotExperts[s] = Int32(rng.int(0..<experts))
            if rng.int(0..<5) > 0 { slotRows[s] = Int32(rng.int(0..<rows)) }
        }
        slotRows[0] = -1; slotRows[1] = -1
        for transW in [Transpose.noTranspose, .transpose] {
            let ldw = (transW == .noTranspose ? n : rank) + 3, stored = transW == .noTranspose ? rank : n
            let weights = (0..<experts).map { _ in rng.floats(stored * ldw) }
            let y0 = rng.floats(tokens * ldy)
            for useScale in [false, true] {
                var expected = y0.map(Double.init), magnitude = y0.map { abs(Double($0)) }
                for t in 0..<tokens {
                    for j in 0..<slots where slotRows[t * slots + j] >= 0 {
                        let row = Int(slotRows[t * slots + j]), e = Int(slotExperts[t * slots + j])
                        let s = useScale ? Double(scale[row]) : 1
                        for c in 0..<n {
                            for q in 0..<rank {
                                let wv = Double(transW == .noTranspose ? weights[e][q * ldw + c] : weights[e][c * ldw + q])
                                let term = s * Double(h[row * ldh + q]) * wv
                                expected[t * ldy + c] += term
                                magnitude[t * ldy + c] += abs(term)
                            }
                        }
                    }
                }
                var results: [[Float]] = []
                for threads in [1, 2, 3] {
                    var y = y0
                    withPointers(weights) { wp in
                        y.withUnsafeMutableBufferPointer { yp in
                            expertCombineAdd(tokens: tokens, slots: slots, slotRows: slotRows, slotExperts: slotExperts,
                                             h: h, ldh: ldh, rank: rank, rowScale: useScale ? scale : nil,
                                             transW, weights: wp, ldw: ldw, n: n, y: yp.baseAddress!, ldy: ldy, threads: threads)
                        }
                    }
                    results.append(y)
                }
                #expect(results.allSatisfy { $0 == results[0] }, "n=\(n) rank=\(rank) \(transW): thread counts differ")
                let bound = 4 * Double(slots * rank + 2) * float32Epsilon
                var bad = 0
                for t in 0..<tokens {
                    for c in 0..<ldy {
                        let at = t * ldy + c, got = results[0][at]
                        if c >= n {
                            if got.bitPattern != y0[at].bitPattern { bad += 1 }
                        } else if !(abs(Double(got) - expected[at]) <= bound * magnitude[at] + 1e-30) {
                            bad += 1
                        }
                    }
                }
                #expect(bad == 0, "n=\(n) rank=\(rank) \(transW) scale=\(useScale): \(bad) wrong")
                // Tokens without a computed slot keep their row exactly.
                #expect(Array(results[0][0..<ldy]) == Array(y0[0..<ldy]))
            }
        }
    }

    @Test("hand-computed: one token, two experts")
    func handComputed() {
        // W_0 = [[1, 2]], W_1 = [[10, 20]] (rank 1, n 2); h rows [3], [4]; scales 0.5 and 2.
        let w0: [Float] = [1, 2], w1: [Float] = [10, 20]
        var y: [Float] = [1, 1]
        withPointers([w0, w1]) { wp in
            expertCombineAdd(tokens: 1, slots: 2, slotRows: [1, 0], slotExperts: [0, 1], h: [3, 4], ldh: 1, rank: 1,
                             rowScale: [0.5, 2], .noTranspose, weights: wp, ldw: 2, n: 2, y: &y, ldy: 2)
        }
        // slot 0: row 1 (h 4, scale 2) on W_0 -> [8, 16]; slot 1: row 0 (h 3, scale 0.5) on W_1 -> [15, 30].
        #expect(y == [24, 47])
    }
}

/// Calls `body` with stable pointers to each array's storage.
func withPointers<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    func recurse(_ i: Int, _ acc: [UnsafePointer<Float>]) -> R {
        if i == arrays.count { return body(acc) }
        return arrays[i].withUnsafeBufferPointer { recurse(i + 1, acc + [$0.baseAddress!]) }
    }
    return recurse(0, [])
}
