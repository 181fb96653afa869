import Testing
@testable import SiraKernels

/// Grouped GEMM problems whose A or B rows are read through index tables (`aRows`, `bRows`):
/// each must equal the naive Double reference on the explicitly gathered matrix, on every path
/// (gemv m = 1, narrow n <= 8, narrow m <= 8, blocked), every transpose combination, strided.
struct IndexedRowsGemmTests {
    /// (m, n, k): gemv, narrow (n <= 8), narrow transposed (m <= 8), narrow-pair (9...16 columns or
    /// rows), narrow-K (k <= 16), blocked, awkward sizes.
    static let shapes: [(Int, Int, Int)] = [(1, 33, 7), (1, 7, 33), (33, 7, 129), (129, 1, 33), (7, 33, 129),
                                            (8, 129, 33), (33, 129, 7), (13, 17, 300), (70, 40, 1),
                                            (33, 13, 40), (13, 33, 40), (40, 70, 9)]

    @Test("indexed A and/or B rows equal the reference on gathered copies", arguments: 0..<4)
    func matchesGathered(combo: Int) {
        let (ta, tb) = allTransposes[combo]
        var rng = TestRNG(seed: UInt64(900 + combo))
        for (s, (m, n, k)) in Self.shapes.enumerated() {
            for (indexA, indexB) in [(true, false), (false, true), (true, true)] {
                let aStored = ta == .noTranspose ? m : k, aCols = ta == .noTranspose ? k : m
                let bStored = tb == .noTranspose ? k : n, bCols = tb == .noTranspose ? n : k
                let lda = aCols + 2, ldb = bCols + 3, ldc = n + 1
                // Parents with more rows than the problem reads; tables pick rows in a scrambled order.
                let aParentRows = aStored + 5, bParentRows = bStored + 4
                let aParent = rng.floats(aParentRows * lda), bParent = rng.floats(bParentRows * ldb)
                let aIndex = (0..<aStored).map { _ in Int32(rng.int(0..<aParentRows)) }
                let bIndex = (0..<bStored).map { _ in Int32(rng.int(0..<bParentRows)) }
                let aGathered = indexA ? aIndex.flatMap { aParent[(Int($0) * lda)..<(Int($0) * lda + lda)] } : aParent
                let bGathered = indexB ? bIndex.flatMap { bParent[(Int($0) * ldb)..<(Int($0) * ldb + ldb)] } : bParent
                let c0 = rng.floats(m * ldc)
                let ref = referenceGemm(ta, tb, m: m, n: n, k: k, alpha: 0.75, a: aGathered, lda: lda, b: bGathered, ldb: ldb,
                                        beta: -0.5, c: c0, ldc: ldc)
                var results: [[Float]] = []
                for threads in [1, 2, 3] {
                    var c = c0
                    aParent.withUnsafeBufferPointer { ap in bParent.withUnsafeBufferPointer { bp in
                        aIndex.withUnsafeBufferPointer { ai in bIndex.withUnsafeBufferPointer { bi in
                            c.withUnsafeMutableBufferPointer { cp in
                                let g = GemmOperands(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.75,
                                                     a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                                     beta: -0.5, c: cp.baseAddress!, ldc: ldc,
                                                     aRows: indexA ? ai.baseAddress! : nil, bRows: indexB ? bi.baseAddress! : nil)
                                // minWork 1: even small problems are split into row ranges over the threads.
                                groupedGemmDispatch([g], threads: threads, minWork: 1)
                            }
                        } }
                    } }
                    results.append(c)
                }
                #expect(results.allSatisfy { $0 == results[0] }, "\(ta) \(tb) shape \(s): thread counts differ")
                var bad = 0
                let bound = 4 * Double(k + 2) * float32Epsilon
                for i in 0..<m {
                    for j in 0..<ldc {
                        let at = i * ldc + j, got = results[0][at]
                        if j >= n {
                            if got.bitPattern != c0[at].bitPattern { bad += 1 }
                        } else if !(abs(Double(got) - ref.c[at]) <= bound * ref.scale[at] + 1e-30) {
                            bad += 1
                        }
                    }
                }
                #expect(bad == 0, "\(ta) \(tb) m=\(m) n=\(n) k=\(k) indexA=\(indexA) indexB=\(indexB): \(bad) wrong")
            }
        }
    }

    @Test("SgemmProblem row tables: an expert's tokens read in place equal sgemm on the gathered rows, bit for bit")
    func publicProblemsBitExact() {
        var rng = TestRNG(seed: 910)
        let tokens = 40, dim = 33, r = 8
        let x = rng.floats(tokens * dim), w = rng.floats(r * dim)
        let rows: [Int32] = [3, 39, 0, 17, 17, 5, 22, 8, 31, 1, 2]
        let gathered = rows.flatMap { x[(Int($0) * dim)..<(Int($0) * dim + dim)] }
        var expected = [Float](repeating: 0, count: rows.count * r), got = expected
        sgemm(.noTranspose, .transpose, m: rows.count, n: r, k: dim, alpha: 1, a: gathered, lda: dim, b: w, ldb: dim,
              beta: 0, c: &expected, ldc: r, threads: 1)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in rows.withUnsafeBufferPointer { ip in
            got.withUnsafeMutableBufferPointer { cp in
                sgemmGrouped(.noTranspose, .transpose,
                             problems: [SgemmProblem(m: rows.count, n: r, k: dim, a: xp.baseAddress!, lda: dim, b: wp.baseAddress!,
                                                     ldb: dim, c: cp.baseAddress!, ldc: r, aRows: ip.baseAddress!)],
                             alpha: 1, beta: 0, threads: 2)
            }
        } } }
        #expect(got == expected)
    }
}
