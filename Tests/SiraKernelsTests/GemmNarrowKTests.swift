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
            let g = GemmOperands(transA: .noTranspose, transB: .noTranspose, m: m, n: n, k: k, alpha: 1,
                                 a: UnsafePointer(bitPattern: 64)!, lda: k, b: UnsafePointer(bitPattern: 64)!, ldb: n,
                                 beta: 0, c: UnsafeMutablePointer(bitPattern: 64)!, ldc: n)
            #expect(GemmPath(g) == .narrowK, "\(m)x\(n)x\(k)")
        }
    }

    @Test("all transposes, alpha/beta, strided: within the Double-reference bound", arguments: 0..<4)
    func matchesReference(combo: Int) {
        let (ta, tb) = allTransposes[combo]
        for (s, (m, n, k)) in Self.shapes.enumerated() {
            for (v, (alpha, beta)) in [(Float(1), Float(0)), (0.5, 1), (-1.5, 0.25)].enumerated() {
                expectGemmMatches(ta, tb, m: m, n: n, k: k, alpha: alpha, beta: beta, padA: v, padB: 2 * v, padC: 1,
                                  threads: 1 + v, seed: UInt64(3000 + 100 * combo + 10 * s + v))
            }
        }
    }

    @Test("row splits over 1, 2, 3 and 5 threads give bit-identical results")
    func threadInvariance() {
        var rng = TestRNG(seed: 3100)
        for (ta, tb) in allTransposes {
            let m = 101, n = 83, k = 8
            let a = rng.floats(m * k), b = rng.floats(k * n), c0 = rng.floats(m * n)
            var results: [[Float]] = []
            for threads in [1, 2, 3, 5] {
                var c = c0
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    let g = GemmOperands(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.75, a: ap.baseAddress!,
                                         lda: ta == .noTranspose ? k : m, b: bp.baseAddress!, ldb: tb == .noTranspose ? n : k,
                                         beta: 1, c: cp.baseAddress!, ldc: n)
                    gemmDispatch(g, threads: threads, minWork: 1)
                } } }
                results.append(c)
            }
            #expect(results.allSatisfy { $0 == results[0] }, "\(ta) \(tb)")
        }
    }
}
