/// One expert's GEMM inside a grouped call: `C = alpha * op(A) * op(B) + beta * C` with its own
/// shapes and pointers (same conventions as `sgemm`). `m`, `n` or `k` may be 0.
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

    public init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                c: UnsafeMutablePointer<Float>, ldc: Int) {
        self.m = m; self.n = n; self.k = k
        self.a = a; self.lda = lda; self.b = b; self.ldb = ldb; self.c = c; self.ldc = ldc
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
                            a: p.a, lda: p.lda, b: p.b, ldb: p.ldb, beta: beta, c: p.c, ldc: p.ldc)
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

/// Splits the grouped work into row blocks, each run by one thread from start to end. Blocks are
/// cut so each thread gets about the same number of multiply-adds.
func groupedGemmDispatch(_ problems: [GemmOperands], threads: Int) {
    var work: [(problem: Int, rows: Range<Int>)] = []
    for (index, g) in problems.enumerated() where g.m > 0 && g.n > 0 {
        if g.alpha == 0 || g.k == 0 {
            scaleMatrix(g.c, rows: g.m, cols: g.n, ld: g.ldc, beta: g.beta)
            continue
        }
        work.append((index, 0..<g.m))
    }
    if work.isEmpty { return }
    let cost = work.map { Double(problems[$0.problem].n) * Double(problems[$0.problem].k) }
    let total = zip(work, cost).reduce(0.0) { $0 + Double($1.0.rows.count) * $1.1 }
    let chunks = threads
    // Thread t takes the rows whose cumulative cost falls in [t, t+1) * total / chunks.
    parallelFor(chunks, threads: chunks) { t in
        let lo = total * Double(t) / Double(chunks), hi = total * Double(t + 1) / Double(chunks)
        var start = 0.0
        for (w, perRow) in zip(work, cost) {
            let rows = w.rows.count
            let end = start + Double(rows) * perRow
            if end > lo && start < hi {
                let first = max(0, Int(((lo - start) / perRow).rounded()))
                let last = min(rows, Int(((hi - start) / perRow).rounded()))
                if first < last {
                    gemmRowsSimple(problems[w.problem], rows: first..<last)
                }
            }
            start = end
        }
    }
}
