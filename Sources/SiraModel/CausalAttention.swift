import SiraKernels
import Dispatch

/// Grouped-query causal self-attention over a batch of full sequences, forward and backward.
///
/// Layout (row-major, one row per token, rows `b·seq + t`): `q` `[N, heads·hd]`, `k`, `v`
/// `[N, kvHeads·hd]` (already rotated), output `[N, heads·hd]`. Query head `h` reads KV head
/// `h / (heads / kvHeads)`. Each (sequence, head) block is two GEMMs on strided views —
/// `S = Q Kᵀ` and `O = P V` — with the scaled causal softmax in between; `probs`
/// `[batch, heads, seq, seq]` keeps P for the backward pass (masked entries 0).
///
/// Causal skip: queries are taken `rowBlock` rows at a time, and rows `r0..<r1` meet only keys
/// `0..<r1`, so the GEMMs cover the lower triangle plus the diagonal blocks — about half of
/// the `seq × seq` work at long sequences — and never read a masked score.
struct AttentionShape {
    var batch: Int
    var seq: Int
    var heads: Int
    var kvHeads: Int
    var headDim: Int
    /// Query rows per causal block; any value ≥ 1 gives the same result up to float rounding.
    var rowBlock = 64

    var qStride: Int { heads * headDim }
    var kvStride: Int { kvHeads * headDim }
    var group: Int { heads / kvHeads }
    var scale: Float { 1 / Float(headDim).squareRoot() }

    /// The causal row blocks `(r0, r1)` covering `0..<seq`.
    var rowBlocks: [(Int, Int)] {
        stride(from: 0, to: seq, by: max(1, rowBlock)).map { ($0, min(seq, $0 + max(1, rowBlock))) }
    }
}

struct AttentionPointers {
    var q: UnsafeMutablePointer<Float>
    var k: UnsafeMutablePointer<Float>
    var v: UnsafeMutablePointer<Float>
    var probs: UnsafeMutablePointer<Float>
    var out: UnsafeMutablePointer<Float>
}

func causalAttentionForward(_ s: AttentionShape, _ p: AttentionPointers, threads: Int) {
    let t = s.seq, hd = s.headDim
    LlamaParallel.forEach(s.batch * s.heads, threads: threads) { unit in
        let b = unit / s.heads, h = unit % s.heads, g = h / s.group
        let q = p.q + b * t * s.qStride + h * hd
        let k = p.k + b * t * s.kvStride + g * hd
        let v = p.v + b * t * s.kvStride + g * hd
        let probs = p.probs + unit * t * t
        let out = p.out + b * t * s.qStride + h * hd
        for (r0, r1) in s.rowBlocks {
            let m = r1 - r0, pRows = probs + r0 * t
            sgemm(.noTranspose, .transpose, m: m, n: r1, k: hd, alpha: 1, a: q + r0 * s.qStride, lda: s.qStride, b: k, ldb: s.kvStride,
                  beta: 0, c: pRows, ldc: t, threads: 1)
            // Zeroes every masked entry of these rows, including the columns ≥ r1 no GEMM wrote.
            softmaxForward(x: pRows, y: pRows, rows: m, cols: t, ld: t, scale: s.scale, causalOffset: r0, threads: 1)
            sgemm(.noTranspose, .noTranspose, m: m, n: hd, k: r1, alpha: 1, a: pRows, lda: t, b: v, ldb: s.kvStride,
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
    LlamaParallel.forEach(s.batch * s.kvHeads, threads: threads) { unit in
        let b = unit / s.kvHeads, g = unit % s.kvHeads
        // dP and dS of one row block at a time: [rows of the block, t] each, row stride t.
        let blockRows = min(t, max(1, s.rowBlock))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * blockRows * t)
        defer { scratch.deallocate() }
        let dPRows = scratch, dSRows = scratch + blockRows * t
        let k = p.k + b * t * s.kvStride + g * hd
        let v = p.v + b * t * s.kvStride + g * hd
        let dK = dk + b * t * s.kvStride + g * hd
        let dV = dv + b * t * s.kvStride + g * hd
        for r in 0..<t {
            (dK + r * s.kvStride).update(repeating: 0, count: hd)
            (dV + r * s.kvStride).update(repeating: 0, count: hd)
        }
        for h in (g * s.group)..<((g + 1) * s.group) {
            let q = p.q + b * t * s.qStride + h * hd
            let dO = dOut + b * t * s.qStride + h * hd
            let dQ = dq + b * t * s.qStride + h * hd
            let probs = p.probs + (b * s.heads + h) * t * t
            for (r0, r1) in s.rowBlocks {
                let m = r1 - r0, pRows = probs + r0 * t, dORows = dO + r0 * s.qStride
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
