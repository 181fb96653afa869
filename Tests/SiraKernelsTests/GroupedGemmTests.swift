import Testing
@testable import SiraKernels

struct GroupedGemmTests {
    /// Uneven per-expert row counts with empty experts.
    static let rowCounts = [0, 37, 1, 0, 129, 7, 3, 64, 0, 2]

    @Test("row-set form equals per-expert naive GEMMs (both B layouts, threads 1/2/3)", arguments: [19, 8, 3])
    func rowSets(n: Int) {
        var rng = TestRNG(seed: 11)
        let counts = Self.rowCounts, total = counts.reduce(0, +), e = counts.count
        let k = 33, lda = k + 2, ldc = n + 1
        let a = rng.floats(total * lda)
        for tb in [Transpose.noTranspose, .transpose] {
            let ldb = (tb == .noTranspose ? n : k) + 3, bRows = tb == .noTranspose ? k : n
            let strideB = bRows * ldb + 5
            let b = rng.floats(e * strideB)
            let c0 = rng.floats(total * ldc)
            for threads in [1, 2, 3] {
                var c = c0
                sgemmGrouped(tb, rowCounts: counts, n: n, k: k, alpha: 0.75, a: a, lda: lda, b: b, ldb: ldb,
                             strideB: strideB, beta: 0.5, c: &c, ldc: ldc, threads: threads)
                var row = 0, bad = 0
                for (x, rows) in counts.enumerated() {
                    let aE = Array(a[(row * lda)..<((row + rows) * lda)])
                    let bE = Array(b[(x * strideB)..<(x * strideB + bRows * ldb)])
                    let cE = Array(c0[(row * ldc)..<((row + rows) * ldc)])
                    let ref = referenceGemm(.noTranspose, tb, m: rows, n: n, k: k, alpha: 0.75, a: aE, lda: lda,
                                            b: bE, ldb: ldb, beta: 0.5, c: cE, ldc: ldc)
                    for i in 0..<rows {
                        for j in 0..<ldc {
                            let got = c[(row + i) * ldc + j]
                            if j >= n {
                                if got.bitPattern != c0[(row + i) * ldc + j].bitPattern { bad += 1 }
                            } else if abs(Double(got) - ref.c[i * ldc + j]) > 4 * Double(k + 2) * float32Epsilon * ref.scale[i * ldc + j] {
                                bad += 1
                            }
                        }
                    }
                    row += rows
                }
                #expect(bad == 0, "transB \(tb) threads \(threads): \(bad) wrong elements")
            }
        }
    }

    @Test("problem-list form (weight-gradient shape, k varies per expert) equals sgemm per expert, bit for bit")
    func problemList() {
        var rng = TestRNG(seed: 12)
        let counts = Self.rowCounts, out = 21, r = 8
        let total = counts.reduce(0, +)
        let dy = rng.floats(total * out), h = rng.floats(total * r)
        let e = counts.count
        var grads = rng.floats(e * out * r)
        var expected = grads
        // dB_e[out×r] += dY_eᵀ · H_e : transA, k = rows of expert e.
        var problems: [SgemmProblem] = []
        dy.withUnsafeBufferPointer { dyp in
            h.withUnsafeBufferPointer { hp in
                expected.withUnsafeMutableBufferPointer { ep in
                    grads.withUnsafeMutableBufferPointer { gp in
                        var row = 0
                        for (x, rows) in counts.enumerated() {
                            sgemm(.transpose, .noTranspose, m: out, n: r, k: rows, alpha: 1, a: dyp.baseAddress! + row * out,
                                  lda: out, b: hp.baseAddress! + row * r, ldb: r, beta: 1,
                                  c: ep.baseAddress! + x * out * r, ldc: r, threads: 1)
                            problems.append(SgemmProblem(m: out, n: r, k: rows, a: dyp.baseAddress! + row * out, lda: out,
                                                         b: hp.baseAddress! + row * r, ldb: r,
                                                         c: gp.baseAddress! + x * out * r, ldc: r))
                            row += rows
                        }
                        sgemmGrouped(.transpose, .noTranspose, problems: problems, alpha: 1, beta: 1, threads: 2)
                    }
                }
            }
        }
        #expect(grads == expected)
    }

    @Test("all experts empty, and a single expert holding every row")
    func edgeLoads() {
        var rng = TestRNG(seed: 13)
        let k = 7, n = 5
        var c = [Float](repeating: 3, count: 4 * n)
        let a = rng.floats(4 * k), b = rng.floats(3 * k * n)
        sgemmGrouped(.noTranspose, rowCounts: [0, 0, 0], n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                     strideB: k * n, beta: 0, c: &c, ldc: n)
        #expect(c.allSatisfy { $0 == 3 })
        sgemmGrouped(.noTranspose, rowCounts: [0, 4, 0], n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n,
                     strideB: k * n, beta: 0, c: &c, ldc: n, threads: 2)
        var expected = [Float](repeating: 0, count: 4 * n)
        b.withUnsafeBufferPointer { bp in
            sgemm(.noTranspose, .noTranspose, m: 4, n: n, k: k, alpha: 1, a: a, lda: k, b: bp.baseAddress! + k * n,
                  ldb: n, beta: 0, c: &expected, ldc: n, threads: 1)
        }
        #expect(c == expected)
    }

    @Test("the cost-balanced split gives bit-identical results on 1, 2, 3 and 7 threads", arguments: [19, 8, 3])
    func splitInvariance(n: Int) {
        var rng = TestRNG(seed: 14)
        let counts = Self.rowCounts + [1, 5], k = 29
        let total = counts.reduce(0, +)
        let a = rng.floats(total * k), b = rng.floats(counts.count * n * k)
        let c0 = rng.floats(total * n)
        var results: [[Float]] = []
        for threads in [1, 2, 3, 7] {
            var c = c0
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                var problems: [GemmOperands] = []
                var row = 0
                for (e, rows) in counts.enumerated() {
                    problems.append(GemmOperands(transA: .noTranspose, transB: .transpose, m: rows, n: n, k: k, alpha: 1.25,
                                                 a: ap.baseAddress! + row * k, lda: k, b: bp.baseAddress! + e * n * k, ldb: k,
                                                 beta: -0.5, c: cp.baseAddress! + row * n, ldc: n))
                    row += rows
                }
                groupedGemmDispatch(problems, threads: threads, minWork: 1)
            } } }
            results.append(c)
        }
        #expect(results.allSatisfy { $0 == results[0] })
        var expected = c0
        sgemmGrouped(.transpose, rowCounts: counts, n: n, k: k, alpha: 1.25, a: a, lda: k, b: b, ldb: k, strideB: n * k,
                     beta: -0.5, c: &expected, ldc: n, threads: 1)
        #expect(results[0] == expected)
    }
}
