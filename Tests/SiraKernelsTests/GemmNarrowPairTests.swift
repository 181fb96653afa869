import Testing
@testable import SiraKernels

/// The narrow-pair path (9 to 16 columns or rows of C, k > 16): a 16-expert router's GEMMs.
struct GemmNarrowPairTests {
    static let shapes: [(Int, Int, Int)] = [(33, 9, 17), (129, 16, 40), (9, 33, 129), (16, 70, 33), (13, 13, 65), (40, 12, 300)]

    @Test("shapes take the narrow-pair path")
    func pathChoice() {
        for (m, n, k) in Self.shapes {
            let g = GemmOperands(transA: .noTranspose, transB: .noTranspose, m: m, n: n, k: k, alpha: 1,
                                 a: UnsafePointer(bitPattern: 64)!, lda: k, b: UnsafePointer(bitPattern: 64)!, ldb: n,
                                 beta: 0, c: UnsafeMutablePointer(bitPattern: 64)!, ldc: n)
            #expect(GemmPath(g) == .narrowPair, "\(m)x\(n)x\(k)")
        }
    }

    @Test("all transposes, alpha/beta, strided, threads 1-3: within the Double-reference bound", arguments: 0..<4)
    func matchesReference(combo: Int) {
        let (ta, tb) = allTransposes[combo]
        for (s, (m, n, k)) in Self.shapes.enumerated() {
            for (v, (alpha, beta)) in [(Float(1), Float(0)), (0.5, 1), (-1.5, 0.25)].enumerated() {
                expectGemmMatches(ta, tb, m: m, n: n, k: k, alpha: alpha, beta: beta, padA: v, padB: 2 * v, padC: 1,
                                  threads: 1 + v, seed: UInt64(4000 + 100 * combo + 10 * s + v))
            }
        }
    }

    @Test("1, 2 and 3 threads give bit-identical results")
    func threadInvariance() {
        var rng = TestRNG(seed: 4100)
        for (ta, tb) in allTransposes {
            for (m, n, k) in [(301, 16, 45), (16, 257, 301)] {
                let a = rng.floats(m * k), b = rng.floats(k * n), c0 = rng.floats(m * n)
                var results: [[Float]] = []
                for threads in [1, 2, 3] {
                    var c = c0
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                        let g = GemmOperands(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.75, a: ap.baseAddress!,
                                             lda: ta == .noTranspose ? k : m, b: bp.baseAddress!, ldb: tb == .noTranspose ? n : k,
                                             beta: 1, c: cp.baseAddress!, ldc: n)
                        gemmDispatch(g, threads: threads, minWork: 1)
                    } } }
                    results.append(c)
                }
                #expect(results.allSatisfy { $0 == results[0] }, "\(ta) \(tb) \(m)x\(n)x\(k)")
            }
        }
    }
}
