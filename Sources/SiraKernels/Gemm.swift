/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    case noTranspose, transpose
}

/// `C[m×n] = alpha * op(A)[m×k] * op(B)[k×n] + beta * C`, fp32, row-major.
///
/// `lda`, `ldb`, `ldc` are the row strides of the matrices as stored: A is stored `m×k` when
/// `.noTranspose` and `k×m` when `.transpose` (likewise B: `k×n` or `n×k`), so a strided view of a
/// larger matrix works by passing its parent's row stride. `beta == 0` makes C write-only (NaNs
/// already in C are not propagated); `alpha == 0` or `k == 0` reads neither A nor B.
/// `threads`: nil uses `KernelThreads.count`; 1 runs on the calling thread only. C must not
/// overlap A or B. Results do not depend on the thread count (each element of C is summed by one
/// thread in the same order).
public func sgemm(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                  alpha: Float, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                  threads: Int? = nil) {
    precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension m=\(m) n=\(n) k=\(k)")
    precondition(lda >= max(1, transA == .noTranspose ? k : m), "sgemm: lda=\(lda) too small")
    precondition(ldb >= max(1, transB == .noTranspose ? n : k), "sgemm: ldb=\(ldb) too small")
    precondition(ldc >= max(1, n), "sgemm: ldc=\(ldc) too small")
    if m == 0 || n == 0 { return }
    if alpha == 0 || k == 0 {
        scaleMatrix(c, rows: m, cols: n, ld: ldc, beta: beta)
        return
    }
    let operands = GemmOperands(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    gemmDispatch(operands, threads: KernelThreads.resolve(threads))
}

/// One GEMM's arguments, passed between the driver, the packing routines and the threads.
struct GemmOperands: @unchecked Sendable {
    var transA: Transpose
    var transB: Transpose
    var m: Int
    var n: Int
    var k: Int
    var alpha: Float
    var a: UnsafePointer<Float>
    var lda: Int
    var b: UnsafePointer<Float>
    var ldb: Int
    var beta: Float
    var c: UnsafeMutablePointer<Float>
    var ldc: Int
    /// Row `r` of A as stored is at `a + aRows[r] * lda` (nil: `a + r * lda`). Lets a kernel read
    /// scattered rows (SiRA's tokens of one expert) in place instead of gathering them first.
    var aRows: UnsafePointer<Int32>? = nil
    /// Same for B's stored rows.
    var bRows: UnsafePointer<Int32>? = nil

    /// Start of A's stored row `r`.
    @inline(__always)
    func aRow(_ r: Int) -> UnsafePointer<Float> {
        if let aRows { return a + Int(aRows[r]) &* lda }
        return a + r &* lda
    }

    /// Start of B's stored row `r`.
    @inline(__always)
    func bRow(_ r: Int) -> UnsafePointer<Float> {
        if let bRows { return b + Int(bRows[r]) &* ldb }
        return b + r &* ldb
    }
}

/// `C = beta * C` over an `rows×cols` view; `beta == 0` writes zeros without reading C.
func scaleMatrix(_ c: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, beta: Float) {
    if beta == 1 { return }
    for i in 0..<rows {
        let row = c + i &* ld
        if beta == 0 {
            row.update(repeating: 0, count: cols)
        } else {
            for j in 0..<cols { row[j] *= beta }
        }
    }
}
