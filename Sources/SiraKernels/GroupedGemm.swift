/// One expert's GEMM inside a grouped call: `C = alpha * op(A) * op(B) + beta * C` with its own
/// shapes and pointers (same conventions as `sgemm`). `m`, `n` or `k` may be 0.
///
/// `aRows` / `bRows` read a matrix's stored rows through an index table: stored row `r` of A is
/// `a + aRows[r] * lda` (B likewise), so an expert's scattered token rows are packed straight from
/// the token matrix, with no gathered copy. Stored rows run along op(A)'s rows when A is not
/// transposed (`aRows` has m entries) and along k when it is (k entries); for B along k when not
/// transposed, along n when transposed. Indices must be non-negative and address valid rows.
public struct SgemmProblem: @unchecked Sendable {
    public var m: Int
    public var n: Int
    public var k: Int
    public var a: UnsafePointer<Float>
    public var lda: Int
    public var b: UnsafePointer<Float>
    public var ldb: Int
    public var c: UnsafeMutablePointer<Float>
    public var ldc: Int
    public var aRows: UnsafePointer<Int32>?
    public var bRows: UnsafePointer<Int32>?

    public init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                c: UnsafeMutablePointer<Float>, ldc: Int, aRows: UnsafePointer<Int32>? = nil, bRows: UnsafePointer<Int32>? = nil) {
        self.m = m; self.n = n; self.k = k
        self.a = a; self.lda = lda; self.b = b; self.ldb = ldb; self.c = c; self.ldc = ldc
        self.aRows = aRows; self.bRows = bRows
    }
}

/// Runs independent GEMMs (one per expert) in one call, spreading the threads over the total work
/// rather than over experts, so uneven loads (one expert with most tokens, some with none) keep
/// every thread busy. Problems' C matrices must not overlap each other or any A or B.
/// Each problem's result equals `sgemm` on it alone, bit for bit, whatever the thread count.
public func sgemmGrouped(_ transA: Transpose, _ transB: Transpose, problems: [SgemmProblem],
                         alpha: Float, beta: Float, threads: Int? = nil) {
    let operands = problems.map { p -> GemmOperands in
        precondition(p.m >= 0 && p.n >= 0 && p.k >= 0, "sgemmGrouped: negative dimension")
        precondition(p.lda >= max(1, transA == .noTranspose ? p.k : p.m), "sgemmGrouped: lda too small")
        precondition(p.ldb >= max(1, transB == .noTranspose ? p.n : p.k), "sgemmGrouped: ldb too small")
        precondition(p.ldc >= max(1, p.n), "sgemmGrouped: ldc too small")
        return GemmOperands(transA: transA, transB: transB, m: p.m, n: p.n, k: p.k, alpha: alpha,
                            a: p.a, lda: p.lda, b: p.b, ldb: p.ldb, beta: beta, c: p.c, ldc: p.ldc,
                            aRows: p.aRows, bRows: p.bRows)
    }
    groupedGemmDispatch(operands, threads: KernelThreads.resolve(threads))
}

/// The common SiRA forward shape: expert `e` multiplies its own consecutive block of
/// `rowCounts[e]` rows of A (rows concatenated in expert order, `sum(rowCounts)` in all) by its own
/// B, writing the same rows of C:
/// `C[rows_e, 0..<n] = alpha * op_A(A[rows_e]) * op(B_e) + beta * C[rows_e]` where A's rows are
/// stored `rows×k` (row stride `lda`), `B_e = b + e * strideB` is stored `k×n` (`.noTranspose`,
/// row stride `ldb`) or `n×k` (`.transpose`), and C is `rows×n` with row stride `ldc`.
/// Experts with zero rows are skipped.
public func sgemmGrouped(_ transB: Transpose, rowCounts: [Int], n: Int, k: Int,
                         alpha: Float, a: UnsafePointer<Float>, lda: Int,
                         b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                         beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                         threads: Int? = nil) {
    var problems: [SgemmProblem] = []
    problems.reserveCapacity(rowCounts.count)
    var row = 0
    for (e, rows) in rowCounts.enumerated() {
        precondition(rows >= 0, "sgemmGrouped: negative row count for expert \(e)")
        if rows > 0 {
            problems.append(SgemmProblem(m: rows, n: n, k: k, a: a + row &* lda, lda: lda,
                                         b: b + e &* strideB, ldb: ldb, c: c + row &* ldc, ldc: ldc))
        }
        row += rows
    }
    sgemmGrouped(.noTranspose, transB, problems: problems, alpha: alpha, beta: beta, threads: threads)
}

/// Splits the grouped work by cost: each problem is cut into row tiles (6 rows on the blocked
/// path, 8 on the narrow and narrow-pair paths, 4 on the narrow-K path; a problem whose C has one
/// row, or at most 8 rows (16 on the narrow-pair path), stays whole), tiles are laid end to end,
/// and chunk `t` of `4 * threads` takes the tiles whose cumulative multiply-add count falls in its
/// share; the threads claim chunks as they finish. Each chunk runs the single-threaded kernel of
/// the problem's own path on its row ranges, so results equal a plain `sgemm` of each problem.
func groupedGemmDispatch(_ problems: [GemmOperands], threads: Int, blocking: GemmBlocking = .zen3,
                         minWork: Int = gemmMinWorkPerThread) {
    var live: [GemmOperands] = []
    for g in problems where g.m > 0 && g.n > 0 {
        if g.alpha == 0 || g.k == 0 {
            scaleMatrix(g.c, rows: g.m, cols: g.n, ld: g.ldc, beta: g.beta)
        } else {
            live.append(g)
        }
    }
    if live.isEmpty { return }
    let tileRows = live.map { g -> Int in
        switch GemmPath(g) {
        case .gemv: return g.m
        case .narrow: return g.n <= 8 ? narrowMR : g.m
        case .narrowK: return narrowKMR
        case .narrowPair: return g.n <= 16 ? narrowMR : g.m
        case .blocked: return gemmMR
        }
    }
    let tiles = zip(live, tileRows).map { ($0.m + $1 - 1) / $1 }
    // A tile's cost: its multiply-adds, plus a fixed overhead so empty-ish tiles are not free.
    let tileCost = zip(live, tileRows).map { Double(min($0.m, $1)) * Double($0.n) * Double($0.k) + 4096 }
    let total = zip(tiles, tileCost).reduce(0.0) { $0 + Double($1.0) * $1.1 }
    let chunks = max(1, min(threads > 1 ? threads * 4 : 1, tiles.reduce(0, +), Int(min(total / Double(max(minWork, 1)), 1048576.0))))
    let shared = UncheckedSendable(live)
    dynamicFor(chunks, threads: threads) { t, _ in
        let live = shared.value
        let lo = total * Double(t) / Double(chunks), hi = total * Double(t + 1) / Double(chunks)
        var start = 0.0
        for (index, g) in live.enumerated() {
            let end = start + Double(tiles[index]) * tileCost[index]
            if end > lo && start < hi {
                // Tile i belongs to the thread whose share holds its start cost.
                let first = max(0, Int(((lo - start) / tileCost[index]).rounded(.up)))
                let last = t == chunks - 1 ? tiles[index] : min(tiles[index], Int(((hi - start) / tileCost[index]).rounded(.up)))
                if first < last {
                    gemmRowsSingleThread(g, rows: (first * tileRows[index])..<min(g.m, last * tileRows[index]), blocking: blocking)
                }
            }
            start = end
        }
    }
}

/// Rows `rows` of one problem on the calling thread, on the problem's own path.
func gemmRowsSingleThread(_ g: GemmOperands, rows: Range<Int>, blocking: GemmBlocking) {
    switch GemmPath(g) {
    case .gemv:
        gemv(g, threads: 1)
    case .narrow:
        if g.n > 8 {
            gemmNarrow(g, threads: 1)   // m <= 8: rows are the whole problem
            return
        }
        let problem = NarrowGemm(g)
        GemmScratch.withBuffer(count: problem.k * 8) { packed in
            problem.packB(into: packed)
            problem.run(rows: rows, packedB: packed)
        }
    case .narrowPair:
        let (first, second) = narrowHalves(g)
        gemmRowsSingleThread(first, rows: rows, blocking: blocking)
        gemmRowsSingleThread(second, rows: rows, blocking: blocking)
    case .narrowK:
        let problem = NarrowKGemm(g)
        GemmScratch.withBuffer(count: g.k * problem.np) { packed in
            problem.packB(into: packed)
            problem.run(rows: rows, packedB: packed)
        }
    case .blocked:
        gemmBlockedRows(g, rows: rows, blocking: blocking)
    }
}
