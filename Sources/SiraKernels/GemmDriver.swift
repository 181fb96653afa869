/// Chooses the GEMM path. Splits C's rows over threads; each thread runs a row-panel product.
func gemmDispatch(_ g: GemmOperands, threads: Int) {
    let chunks = min(threads, g.m)
    if chunks <= 1 {
        gemmRowsSimple(g, rows: 0..<g.m)
        return
    }
    parallelFor(chunks, threads: chunks) { t in
        let lo = g.m * t / chunks, hi = g.m * (t + 1) / chunks
        gemmRowsSimple(g, rows: lo..<hi)
    }
}

/// Straightforward product for rows `rows` of C: each row of C accumulated from rows of op(B).
func gemmRowsSimple(_ g: GemmOperands, rows: Range<Int>) {
    let n = g.n, k = g.k
    for i in rows {
        let cRow = g.c + i &* g.ldc
        if g.beta == 0 {
            cRow.update(repeating: 0, count: n)
        } else if g.beta != 1 {
            for j in 0..<n { cRow[j] *= g.beta }
        }
        for p in 0..<k {
            let aip = g.transA == .noTranspose ? g.a[i &* g.lda &+ p] : g.a[p &* g.lda &+ i]
            let s = g.alpha * aip
            if g.transB == .noTranspose {
                let bRow = g.b + p &* g.ldb
                for j in 0..<n { cRow[j] += s * bRow[j] }
            } else {
                for j in 0..<n { cRow[j] += s * g.b[j &* g.ldb &+ p] }
            }
        }
    }
}
