import Testing
@testable import SiraKernels

/// Error bound for every GEMM check: `|C - C_ref| <= 4 (k + 2) eps_f32 * (|alpha| Σ|a b| + |beta c0|)`
/// (Higham's gamma_k bound for a length-k fp32 dot product, with headroom), `C_ref` in Double.
func expectGemmMatches(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
                       padA: Int = 0, padB: Int = 0, padC: Int = 0, threads: Int, seed: UInt64,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    var rng = TestRNG(seed: seed)
    let aRows = ta == .noTranspose ? m : k, aCols = ta == .noTranspose ? k : m
    let bRows = tb == .noTranspose ? k : n, bCols = tb == .noTranspose ? n : k
    let lda = aCols + padA, ldb = bCols + padB, ldc = n + padC
    let a = rng.floats(max(aRows * lda, 1)), b = rng.floats(max(bRows * ldb, 1))
    var c = rng.floats(max(m * ldc, 1))
    if beta == 0 { for i in stride(from: 0, to: c.count, by: 3) { c[i] = .nan } }
    let ref = referenceGemm(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                            beta: beta, c: c, ldc: ldc)
    let before = c
    c.withUnsafeMutableBufferPointer { cp in
        sgemm(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
              beta: beta, c: cp.baseAddress!, ldc: ldc, threads: threads)
    }
    let bound = 4 * Double(k + 2) * float32Epsilon
    var bad = 0, first = ""
    for i in 0..<m {
        for j in 0..<ldc {
            let at = i * ldc + j
            if j >= n {
                if c[at].bitPattern != before[at].bitPattern { bad += 1; if first.isEmpty { first = "padding (\(i),\(j)) written" } }
                continue
            }
            let err = abs(Double(c[at]) - ref.c[at])
            if !(err <= bound * ref.scale[at] + 1e-30) {
                bad += 1
                if first.isEmpty { first = "(\(i),\(j)): \(c[at]) vs \(ref.c[at])" }
            }
        }
    }
    #expect(bad == 0, "sgemm \(ta) \(tb) m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta) lds+(\(padA),\(padB),\(padC)) threads=\(threads): \(bad) bad, first \(first)",
            sourceLocation: sourceLocation)
}

let allTransposes: [(Transpose, Transpose)] = [(.noTranspose, .noTranspose), (.noTranspose, .transpose),
                                               (.transpose, .noTranspose), (.transpose, .transpose)]

let awkwardShapes: [(Int, Int, Int)] = [
    (1, 1, 1), (1, 33, 7), (1, 129, 129), (7, 1, 33), (33, 7, 1), (7, 33, 129),
    (129, 33, 7), (33, 129, 65), (6, 16, 8), (13, 17, 300), (129, 129, 129), (70, 5, 40), (40, 5, 700), (5, 40, 700), (8, 9, 16), (9, 8, 16),
]

struct GemmTests {
    @Test("all transposes, awkward shapes, alpha=1 beta=0", arguments: 0..<4)
    func awkwardShapesPlain(combo: Int) {
        let (ta, tb) = allTransposes[combo]
        for (s, (m, n, k)) in awkwardShapes.enumerated() {
            expectGemmMatches(ta, tb, m: m, n: n, k: k, alpha: 1, beta: 0, threads: 1, seed: UInt64(100 * combo + s))
        }
    }

    @Test("alpha/beta variants with strided leading dimensions", arguments: 0..<4)
    func alphaBetaStrided(combo: Int) {
        let (ta, tb) = allTransposes[combo]
        let variants: [(Float, Float)] = [(0.5, 1), (-1.5, 0.25), (2, -1), (1, 0)]
        for (v, (alpha, beta)) in variants.enumerated() {
            for (s, (m, n, k)) in [(7, 33, 129), (33, 7, 65), (1, 40, 17), (50, 19, 1)].enumerated() {
                expectGemmMatches(ta, tb, m: m, n: n, k: k, alpha: alpha, beta: beta, padA: 3, padB: 5, padC: 2,
                                  threads: 2, seed: UInt64(1000 + 10 * v + s))
            }
        }
    }

    @Test("alpha == 0 or k == 0 scales C by beta without reading A or B")
    func degenerate() {
        var c: [Float] = [1, 2, 3, 4, 5, 6]
        let nanA = [Float](repeating: .nan, count: 6)
        sgemm(.noTranspose, .noTranspose, m: 2, n: 3, k: 2, alpha: 0, a: nanA, lda: 2, b: nanA, ldb: 3,
              beta: 2, c: &c, ldc: 3)
        #expect(c == [2, 4, 6, 8, 10, 12])
        var c2: [Float] = [.nan, 1, 2, 3]
        sgemm(.transpose, .transpose, m: 2, n: 2, k: 0, alpha: 1, a: nanA, lda: 2, b: nanA, ldb: 1,
              beta: 0, c: &c2, ldc: 2)
        #expect(c2 == [0, 0, 0, 0])
    }

    @Test("hand-computed 2x3 * 3x2")
    func handComputed() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]        // 2x3
        let b: [Float] = [7, 8, 9, 10, 11, 12]     // 3x2
        var c: [Float] = [1, 1, 1, 1]
        sgemm(.noTranspose, .noTranspose, m: 2, n: 2, k: 3, alpha: 1, a: a, lda: 3, b: b, ldb: 2, beta: 1, c: &c, ldc: 2)
        #expect(c == [59, 65, 140, 155])
    }

    @Test("thread counts give bit-identical results")
    func threadInvariance() {
        var rng = TestRNG(seed: 7)
        for (ta, tb) in allTransposes {
            let m = 97, n = 83, k = 301
            let a = rng.floats(m * k), b = rng.floats(k * n)
            var results: [[Float]] = []
            for threads in [1, 2, 3, 5] {
                var c = [Float](repeating: 0, count: m * n)
                sgemm(ta, tb, m: m, n: n, k: k, alpha: 1, a: a, lda: ta == .noTranspose ? k : m,
                      b: b, ldb: tb == .noTranspose ? n : k, beta: 0, c: &c, ldc: n, threads: threads)
                results.append(c)
            }
            #expect(results.allSatisfy { $0 == results[0] }, "\(ta) \(tb)")
        }
    }

    @Test("tiny cache blocks: many kc/mc/nc blocks and edge tiles, threads 1/2/3 bit-identical", arguments: 0..<4)
    func smallBlocking(combo: Int) {
        let (ta, tb) = allTransposes[combo]
        var rng = TestRNG(seed: UInt64(500 + combo))
        let blocking = GemmBlocking(mc: 12, kc: 5, nc: 32)
        for (m, n, k) in [(33, 70, 17), (7, 129, 11), (50, 16, 5), (2, 33, 1), (9, 40, 23), (20, 9, 12)] {
            let lda = (ta == .noTranspose ? k : m) + 1, ldb = (tb == .noTranspose ? n : k) + 2, ldc = n + 3
            let a = rng.floats((ta == .noTranspose ? m : k) * lda), b = rng.floats((tb == .noTranspose ? k : n) * ldb)
            let c0 = rng.floats(m * ldc)
            let ref = referenceGemm(ta, tb, m: m, n: n, k: k, alpha: -0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 1.5, c: c0, ldc: ldc)
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                var c = c0
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    let g = GemmOperands(transA: ta, transB: tb, m: m, n: n, k: k, alpha: -0.5, a: ap.baseAddress!, lda: lda,
                                         b: bp.baseAddress!, ldb: ldb, beta: 1.5, c: cp.baseAddress!, ldc: ldc)
                    gemmDispatch(g, threads: threads, blocking: blocking, minWork: 1)
                } } }
                results.append(c)
            }
            #expect(results.allSatisfy { $0 == results[0] }, "\(ta) \(tb) \(m)x\(n)x\(k): thread counts differ")
            var bad = 0
            for i in 0..<m {
                for j in 0..<ldc {
                    let at = i * ldc + j
                    if j >= n { if results[0][at] != c0[at] { bad += 1 }; continue }
                    if abs(Double(results[0][at]) - ref.c[at]) > 4 * Double(k + 2) * float32Epsilon * ref.scale[at] { bad += 1 }
                }
            }
            #expect(bad == 0, "\(ta) \(tb) \(m)x\(n)x\(k): \(bad) wrong elements")
        }
    }

    @Test("thread grid covers C with whole tiles and prefers splitting rows")
    func threadGrid() {
        #expect(gemmThreadGrid(rowTiles: 171, colTiles: 64, threads: 2) == (2, 1))
        #expect(gemmThreadGrid(rowTiles: 1, colTiles: 256, threads: 2) == (1, 2))
        #expect(gemmThreadGrid(rowTiles: 2, colTiles: 1, threads: 4) == (2, 1))
        let (tm, tn) = gemmThreadGrid(rowTiles: 3, colTiles: 40, threads: 4)
        #expect(tm * tn == 4 && tm <= 3)
    }
}
