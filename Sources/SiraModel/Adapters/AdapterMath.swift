/// The dense and row-indexed primitives the adapters are written against.
///
/// Row-major throughout. `gemm` computes `C = alpha * op(A) * op(B) + beta * C` with `op(A)`
/// `[m, k]` and `op(B)` `[k, n]`; `beta == 0` overwrites C without reading it.
enum AdapterMath {
    static func gemm(_ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        for i in 0..<m {
            let row = c + i &* ldc
            if beta == 0 { row.update(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { row[j] *= beta } }
            if k == 0 { continue }
            if !transB {
                for p in 0..<k {
                    let aip = alpha * (transA ? a[p &* lda &+ i] : a[i &* lda &+ p])
                    if aip == 0 { continue }
                    let brow = b + p &* ldb
                    for j in 0..<n { row[j] += aip * brow[j] }
                }
            } else {
                for j in 0..<n {
                    let bcol = b + j &* ldb
                    var s: Float = 0
                    if transA { for p in 0..<k { s += a[p &* lda &+ i] * bcol[p] } }
                    else { let arow = a + i &* lda; for p in 0..<k { s += arow[p] * bcol[p] } }
                    row[j] += alpha * s
                }
            }
        }
    }

    /// One GEMM of a grouped call (same conventions as `gemm`).
    struct Problem {
        var m: Int, n: Int, k: Int
        var a: UnsafePointer<Float>, lda: Int
        var b: UnsafePointer<Float>, ldb: Int
        var c: UnsafeMutablePointer<Float>, ldc: Int
    }

    /// Runs independent GEMMs (one per expert, uneven sizes) with shared transposes and scalars.
    static func groupedGemm(_ transA: Bool, _ transB: Bool, _ problems: [Problem], alpha: Float, beta: Float) {
        for p in problems {
            gemm(transA, transB, m: p.m, n: p.n, k: p.k, alpha: alpha, a: p.a, lda: p.lda, b: p.b, ldb: p.ldb,
                 beta: beta, c: p.c, ldc: p.ldc)
        }
    }

    /// `dst[i, :] = src[rows[i], :]` for `width` columns.
    static func gatherRows(_ src: UnsafePointer<Float>, width: Int, rows: UnsafePointer<Int32>, count: Int,
                           into dst: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            (dst + i &* width).update(from: src + Int(rows[i]) &* width, count: width)
        }
    }

    /// `dst[rows[i], :] += weights[i] * src[i, :]` (weight 1 when `weights` is nil). Rows may repeat
    /// only across calls, not within one.
    static func scatterAddRows(_ src: UnsafePointer<Float>, width: Int, rows: UnsafePointer<Int32>,
                               weights: UnsafePointer<Float>?, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let d = dst + Int(rows[i]) &* width, s = src + i &* width
            let w = weights?[i] ?? 1
            for j in 0..<width { d[j] += w * s[j] }
        }
    }

    /// Kaiming-uniform as PEFT initialises `lora_A` (`kaiming_uniform_(a=√5)`): U(-1/√in, 1/√in).
    static func kaimingUniform(_ t: Tensor, fanIn: Int, rng: inout Xoshiro256) {
        let bound = 1 / Float(fanIn).squareRoot()
        for i in 0..<t.count { t[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
    }
}

/// Transient buffers shared by all adapters of one `AdapterSet` (gathered rows, per-row outputs,
/// packed weights): adapters of a model run one at a time, so one set of buffers serves them all
/// and memory does not grow with the number of adapted projections. What an adapter must keep from
/// forward to backward lives in the adapter itself.
public final class AdapterWorkspace: @unchecked Sendable {
    let a = Scratch(), b = Scratch(), c = Scratch(), d = Scratch()
    public init() {}
}

/// A growable scratch buffer reused across calls so steady-state forward/backward does not allocate.
final class Scratch {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private var capacity: Int

    init() {
        capacity = 16
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }
    deinit { pointer.deallocate() }

    /// At least `count` floats; contents are unspecified after growth.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity * 2)
            pointer = .allocate(capacity: capacity)
            pointer.initialize(repeating: 0, count: capacity)
        }
        return pointer
    }
}
