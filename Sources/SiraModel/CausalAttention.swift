import SiraKernels
import Dispatch

/// Grouped-query causal self-attention over a batch of full sequences, forward and backward.
///
/// Layout (row-major, one row per token, rows `b·seq + t`): `q` `[N, heads·hd]`, `k`, `v`
/// `[N, kvHeads·hd]` (already rotated), output `[N, heads·hd]`. Query head `h` reads KV head
/// `h / (heads / kvHeads)`. Each (sequence, head) block is two GEMMs on strided views —
/// `S = Q Kᵀ` and `O = P V` — with the scaled causal softmax in between.
///
/// Causal skip: queries are taken `rowBlock` rows at a time, and rows `r0..<r1` meet only keys
/// `0..<r1`, so the GEMMs cover the lower triangle plus the diagonal blocks — about half of
/// the `seq × seq` work at long sequences — and never read a masked score.
///
/// Memory: P is not kept. The backward recomputes each row block's P with the very calls the
/// forward made (same GEMM shapes, single-threaded), so it is bit for bit the forward's P, at the
/// cost of one more `Q Kᵀ` GEMM and softmax; the activations need no `[batch, heads, seq, seq]`
/// tensor, only `rowBlock × seq` scratch per thread.
///
/// Packed rows: `segments` lists the examples as `(first row, length)`; each attends only to
/// itself (a block-diagonal causal mask), and the blocks outside are never computed.
struct AttentionShape {
    var batch: Int
    var seq: Int
    var heads: Int
    var kvHeads: Int
    var headDim: Int
    /// The sequences attention runs over, `(first row, length)`: one per row unless packed.
    var segments: [(offset: Int, length: Int)]
    /// Query rows per causal block; any value ≥ 1 gives the same result up to float rounding.
    var rowBlock = 64

    init(batch: Int, seq: Int, heads: Int, kvHeads: Int, headDim: Int, segments: [(offset: Int, length: Int)]? = nil, rowBlock: Int = 64) {
        self.batch = batch; self.seq = seq; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.segments = segments ?? (0..<batch).map { ($0 * seq, seq) }
        self.rowBlock = rowBlock
    }

    var qStride: Int { heads * headDim }
    var kvStride: Int { kvHeads * headDim }
    var group: Int { heads / kvHeads }
    var scale: Float { 1 / Float(headDim).squareRoot() }

    /// The causal row blocks `(r0, r1)` covering `0..<length`.
    func rowBlocks(_ length: Int) -> [(Int, Int)] {
        stride(from: 0, to: length, by: max(1, rowBlock)).map { ($0, min(length, $0 + max(1, rowBlock))) }
    }
}

struct AttentionPointers {
    var q: UnsafeMutablePointer<Float>
    var k: UnsafeMutablePointer<Float>
    var v: UnsafeMutablePointer<Float>
    var out: UnsafeMutablePointer<Float>
}

/// P for query rows `r0..<r1` of one head against keys `0..<r1`: `[r1 - r0, r1]` into `probs`
/// (row stride `seq`), masked entries 0. `q` and `k` point at the head's first row.
@inline(__always)
private func causalProbabilities(_ s: AttentionShape, q: UnsafePointer<Float>, k: UnsafePointer<Float>, rows r0: Int, _ r1: Int,
                                 into probs: UnsafeMutablePointer<Float>) {
    sgemm(.noTranspose, .transpose, m: r1 - r0, n: r1, k: s.headDim, alpha: 1, a: q + r0 * s.qStride, lda: s.qStride,
          b: k, ldb: s.kvStride, beta: 0, c: probs, ldc: s.seq, threads: 1)
    softmaxForward(x: probs, y: probs, rows: r1 - r0, cols: r1, ld: s.seq, scale: s.scale, causalOffset: r0, threads: 1)
}

func causalAttentionForward(_ s: AttentionShape, _ p: AttentionPointers, threads: Int) {
    let t = s.seq, hd = s.headDim
    LlamaParallel.forEach(s.segments.count * s.heads, threads: threads) { unit in
        let (start, length) = s.segments[unit / s.heads]
        let h = unit % s.heads, g = h / s.group
        let q = p.q + start * s.qStride + h * hd
        let k = p.k + start * s.kvStride + g * hd
        let v = p.v + start * s.kvStride + g * hd
        let out = p.out + start * s.qStride + h * hd
        let probs = UnsafeMutablePointer<Float>.allocate(capacity: min(t, max(1, s.rowBlock)) * t)
        defer { probs.deallocate() }
        for (r0, r1) in s.rowBlocks(length) {
            causalProbabilities(s, q: q, k: k, rows: r0, r1, into: probs)
            sgemm(.noTranspose, .noTranspose, m: r1 - r0, n: hd, k: r1, alpha: 1, a: probs, lda: t, b: v, ldb: s.kvStride,
                  beta: 0, c: out + r0 * s.qStride, ldc: s.qStride, threads: 1)
        }
    }
}

/// Given `dOut`, writes `dq` (overwritten) and `dk`, `dv` (overwritten), all in the forward's
/// layouts. Work is split by (sequence, KV head) so the heads sharing a KV head accumulate into
/// its `dk`/`dv` on one thread.
func causalAttentionBackward(_ s: AttentionShape, _ p: AttentionPointers, dOut: UnsafeMutablePointer<Float>,
                             dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                             threads: Int) {
    let t = s.seq, hd = s.headDim
    LlamaParallel.forEach(s.segments.count * s.kvHeads, threads: threads) { unit in
        let (start, length) = s.segments[unit / s.kvHeads]
        let g = unit % s.kvHeads
        // P (recomputed), dP and dS of one row block at a time: [rows of the block, t] each.
        let blockRows = min(t, max(1, s.rowBlock))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * blockRows * t)
        defer { scratch.deallocate() }
        let pRows = scratch, dPRows = scratch + blockRows * t, dSRows = scratch + 2 * blockRows * t
        let k = p.k + start * s.kvStride + g * hd
        let v = p.v + start * s.kvStride + g * hd
        let dK = dk + start * s.kvStride + g * hd
        let dV = dv + start * s.kvStride + g * hd
        for r in 0..<length {
            (dK + r * s.kvStride).update(repeating: 0, count: hd)
            (dV + r * s.kvStride).update(repeating: 0, count: hd)
        }
        for h in (g * s.group)..<((g + 1) * s.group) {
            let q = p.q + start * s.qStride + h * hd
            let dO = dOut + start * s.qStride + h * hd
            let dQ = dq + start * s.qStride + h * hd
            for (r0, r1) in s.rowBlocks(length) {
                let m = r1 - r0, dORows = dO + r0 * s.qStride
                causalProbabilities(s, q: q, k: k, rows: r0, r1, into: pRows)
                // dP = dO Vᵀ; dV += Pᵀ dO (keys 0..<r1 only: the rest are masked for these rows)
                sgemm(.noTranspose, .transpose, m: m, n: r1, k: hd, alpha: 1, a: dORows, lda: s.qStride, b: v, ldb: s.kvStride,
                      beta: 0, c: dPRows, ldc: t, threads: 1)
                sgemm(.transpose, .noTranspose, m: r1, n: hd, k: m, alpha: 1, a: pRows, lda: t, b: dORows, ldb: s.qStride,
                      beta: 1, c: dV, ldc: s.kvStride, threads: 1)
                // dS = ∂L/∂(Q Kᵀ), the softmax backward including the 1/√hd scale (it accumulates
                // and leaves masked entries alone, so those start at 0).
                for r in 0..<m { (dSRows + r * t).update(repeating: 0, count: r1) }
                softmaxBackward(y: pRows, dy: dPRows, dx: dSRows, rows: m, cols: r1, ld: t, scale: s.scale, causalOffset: r0, threads: 1)
                // dQ = dS K; dK += dSᵀ Q
                sgemm(.noTranspose, .noTranspose, m: m, n: hd, k: r1, alpha: 1, a: dSRows, lda: t, b: k, ldb: s.kvStride,
                      beta: 0, c: dQ + r0 * s.qStride, ldc: s.qStride, threads: 1)
                sgemm(.transpose, .noTranspose, m: r1, n: hd, k: m, alpha: 1, a: dSRows, lda: t, b: q + r0 * s.qStride, ldb: s.qStride,
                      beta: 1, c: dK, ldc: s.kvStride, threads: 1)
            }
        }
    }
}
