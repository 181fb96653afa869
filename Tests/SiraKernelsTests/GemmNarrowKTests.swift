import Testing
@testable import SiraKernels

/// The narrow-K path (k <= 16, m and n > 8): LoRA up-projections, dh·A, the router's dx.
struct GemmNarrowKTests {
    /// n = 9 (one 8-block + 1), 17 (16 + 1), 24 (16 + 8), 31 (16 + 8 + 7), 33, 129; m not a multiple of 4.
    static let shapes: [(Int, Int, Int)] = [(9, 9, 1), (33, 17, 8), (129, 24, 16), (13, 31, 5), (10, 33, 3),
                                            (7 + 4 * 5, 129, 8), (130, 576 / 8, 2)]

    @Test("shapes take the narrow-K path")
    func pathChoice() {
        for (m, n, k) in Self.shapes {
            #expect(gemmPathOf(m: m, n: n, k: k) == .narrowK, "\(m)x\(n)x\(k)")
        }
    }

    @Test("all transposes, alpha/beta, strided: within the Double-reference bound", arguments: 0..<4)
    func matchesReference(combo: Int) {
        expectShapesMatchReference(Self.shapes, combo: combo, seedBase: 3000)
    }

    @Test("row splits over 1, 2, 3 and 5 threads give bit-identical results")
    func threadInvariance() {
        var rng = TestRNG(seed: 3100)
        for (ta, tb) in allTransposes {
            let m = 101, n = 83, k = 8
            let a = rng.floats(m * k), b = rng.floats(k * n), c0 = rng.floats(m * n)
            let results = dispatchedResults(ta, tb, m: m, n: n, k: k, a: a, b: b, c0: c0, threads: [1, 2, 3, 5])
            #expect(results.allSatisfy { $0 == results[0] }, "\(ta) \(tb)")
        }
    }
}
