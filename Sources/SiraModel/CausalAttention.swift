import SiraKernels
import Dispatch

/// Grouped-query causal self-attention over a batch of full sequences, forward and backward.
///
/// Layout (row-major, one row per token, rows `b·seq + t`): `q` `[N, heads·hd]`, `k`, `v`
/// `[N, kvHeads·hd]` (already rotated), output `[N, heads·hd]`. Query head `h` reads KV head
/// `h / (heads / kvHeads)`. Each (sequence, head) block is two GEMMs on strided views —
/// `S = Q Kᵀ` and `O = P V` — with the scaled causal softmax in between; `probs`
/// `[batch, heads, seq, seq]` keeps P for the backward pass.
struct AttentionShape {
    var batch: Int
    var seq: Int
    var heads: Int
    var kvHeads: Int
    var headDim: Int

    var qStride: Int { heads * headDim }
    var kvStride: Int { kvHeads * headDim }
    var group: Int { heads / kvHeads }
    var scale: Float { 1 / Float(headDim).squareRoot() }
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
        sgemm(.noTranspose, .transpose, m: t, n: t, k: hd, alpha: 1, a: q, lda: s.qStride, b: k, ldb: s.kvStride,
              beta: 0, c: probs, ldc: t, threads: 1)
        softmaxForward(x: probs, y: probs, rows: t, cols: t, scale: s.scale, causalOffset: 0)
        sgemm(.noTranspose, .noTranspose, m: t, n: hd, k: t, alpha: 1, a: probs, lda: t, b: v, ldb: s.kvStride,
              beta: 0, c: p.out + b * t * s.qStride + h * hd, ldc: s.qStride, threads: 1)
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
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * t * t)
        defer { scratch.deallocate() }
        let dP = scratch, dS = scratch + t * t
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
            // dP = dO Vᵀ; dV += Pᵀ dO
            sgemm(.noTranspose, .transpose, m: t, n: t, k: hd, alpha: 1, a: dO, lda: s.qStride, b: v, ldb: s.kvStride,
                  beta: 0, c: dP, ldc: t, threads: 1)
            sgemm(.transpose, .noTranspose, m: t, n: hd, k: t, alpha: 1, a: probs, lda: t, b: dO, ldb: s.qStride,
                  beta: 1, c: dV, ldc: s.kvStride, threads: 1)
            // dS = ∂L/∂(Q Kᵀ), the softmax backward including the 1/√hd scale.
            dS.update(repeating: 0, count: t * t)
            softmaxBackward(y: probs, dy: dP, dx: dS, rows: t, cols: t, scale: s.scale, causalOffset: 0)
            // dQ = dS K; dK += dSᵀ Q
            sgemm(.noTranspose, .noTranspose, m: t, n: hd, k: t, alpha: 1, a: dS, lda: t, b: k, ldb: s.kvStride,
                  beta: 0, c: dQ, ldc: s.qStride, threads: 1)
            sgemm(.transpose, .noTranspose, m: t, n: hd, k: t, alpha: 1, a: dS, lda: t, b: q, ldb: s.qStride,
                  beta: 1, c: dK, ldc: s.kvStride, threads: 1)
        }
    }
}
