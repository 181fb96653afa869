import Testing
@testable import SiraKernels

/// Shared checks of the special GEMM paths (narrow-K, narrow-pair): which path a shape takes,
/// the Double-reference sweep, and the thread-count invariance of their work splits.

/// The path `GemmPath` picks for an NN product of this shape (the operands are never read).
func gemmPathOf(m: Int, n: Int, k: Int) -> GemmPath {
    GemmPath(GemmOperands(transA: .noTranspose, transB: .noTranspose, m: m, n: n, k: k, alpha: 1,
                          a: UnsafePointer(bitPattern: 64)!, lda: k, b: UnsafePointer(bitPattern: 64)!, ldb: n,
                          beta: 0, c: UnsafeMutablePointer(bitPattern: 64)!, ldc: n))
}

/// `expectGemmMatches` for every shape under three alpha/beta, stride and thread-count variants;
/// seeds `seedBase + 100 combo + 10 shape + variant`.
func expectShapesMatchReference(_ shapes: [(Int, Int, Int)], combo: Int, seedBase: Int,
                                sourceLocation: SourceLocation = #_sourceLocation) {
    let (ta, tb) = allTransposes[combo]
    for (s, (m, n, k)) in shapes.enumerated() {
        for (v, (alpha, beta)) in [(Float(1), Float(0)), (0.5, 1), (-1.5, 0.25)].enumerated() {
            expectGemmMatches(ta, tb, m: m, n: n, k: k, alpha: alpha, beta: beta, padA: v, padB: 2 * v, padC: 1,
                              threads: 1 + v, seed: UInt64(seedBase + 100 * combo + 10 * s + v), sourceLocation: sourceLocation)
        }
    }
}

/// `C = 0.75 op(A) op(B) + C0` through `gemmDispatch` once per thread count (work split down to
/// single tasks), for comparing the results bit for bit.
func dispatchedResults(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int,
                       a: [Float], b: [Float], c0: [Float], threads: [Int]) -> [[Float]] {
    threads.map { t in
        var c = c0
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            let g = GemmOperands(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.75, a: ap.baseAddress!,
                                 lda: ta == .noTranspose ? k : m, b: bp.baseAddress!, ldb: tb == .noTranspose ? n : k,
                                 beta: 1, c: cp.baseAddress!, ldc: n)
            gemmDispatch(g, threads: t, minWork: 1)
        } } }
        return c
    }
}
