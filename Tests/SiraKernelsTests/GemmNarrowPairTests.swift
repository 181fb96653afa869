import Testing
@testable import SiraKernels

/// The narrow-pair path (9 to 16 columns or rows of C, k > 16): a 16-expert router's GEMMs.
struct GemmNarrowPairTests {
    static let shapes: [(Int, Int, Int)] = [(33, 9, 17), (129, 16, 40), (9, 33, 129), (16, 70, 33), (13, 13, 65), (40, 12, 300)]

    @Test("shapes take the narrow-pair path")
    func pathChoice() {
        for (m, n, k) in Self.shapes {
            #expect(gemmPathOf(m: m, n: n, k: k) == .narrowPair, "\(m)x\(n)x\(k)")
        }
    }

    @Test("all transposes, alpha/beta, strided, threads 1-3: within the Double-reference bound", arguments: 0..<4)
    func matchesReference(combo: Int) {
        expectShapesMatchReference(Self.shapes, combo: combo, seedBase: 4000)
    }

    @Test("1, 2 and 3 threads give bit-identical results")
    func threadInvariance() {
        var rng = TestRNG(seed: 4100)
        for (ta, tb) in allTransposes {
            for (m, n, k) in [(301, 16, 45), (16, 257, 301)] {
                let a = rng.floats(m * k), b = rng.floats(k * n), c0 = rng.floats(m * n)
                let results = dispatchedResults(ta, tb, m: m, n: n, k: k, a: a, b: b, c0: c0, threads: [1, 2, 3])
                #expect(results.allSatisfy { $0 == results[0] }, "\(ta) \(tb) \(m)x\(n)x\(k)")
            }
        }
    }
}
