import SiraKernels

// Qwen3's per-head RMSNorm of q and k (`self_attn.q_norm` / `k_norm`, weights `[head_dim]`),
// between the projections (adapters included) and RoPE. q `[tokens, heads·hd]` is row-major, so
// its heads are `tokens·heads` contiguous rows of `hd`: the model's one RMSNorm kernel applies
// as is. Families without the norms pass through untouched.

extension LlamaModel {
    /// Training forward: `a.q = norm(a.qRaw)`, `a.k = norm(a.kRaw)`, keeping the inverse RMS.
    func headNormForward(_ layer: LlamaLayer, _ a: LlamaActivations.LayerActivations, tokens n: Int) {
        guard let qNorm = layer.qNorm, let kNorm = layer.kNorm, let qRaw = a.qRaw, let kRaw = a.kRaw,
              let qInv = a.qInvRMS, let kInv = a.kInvRMS else { return }
        let c = config
        rmsNormForward(x: qRaw.pointer, weight: qNorm.value.pointer, y: a.q.pointer, invRMS: qInv.pointer,
                       rows: n * c.numAttentionHeads, dim: c.headDim, eps: c.rmsNormEps)
        rmsNormForward(x: kRaw.pointer, weight: kNorm.value.pointer, y: a.k.pointer, invRMS: kInv.pointer,
                       rows: n * c.numKeyValueHeads, dim: c.headDim, eps: c.rmsNormEps)
    }

    /// Given `acts.dq`/`acts.dk` = ∂L/∂(normed, unrotated q/k), returns ∂L/∂(projection outputs):
    /// the same buffers without the norms, else `dqRaw`/`dkRaw` (norm weight gradients accumulate
    /// when trainable).
    func headNormBackward(_ layer: LlamaLayer, _ a: LlamaActivations.LayerActivations, _ acts: LlamaActivations,
                          tokens n: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        guard let qNorm = layer.qNorm, let kNorm = layer.kNorm, let qRaw = a.qRaw, let kRaw = a.kRaw,
              let qInv = a.qInvRMS, let kInv = a.kInvRMS, let dqRaw = acts.dqRaw, let dkRaw = acts.dkRaw
        else { return (acts.dq.pointer, acts.dk.pointer) }
        let c = config
        dqRaw.zero()
        rmsNormBackward(x: qRaw.pointer, weight: qNorm.value.pointer, invRMS: qInv.pointer, dy: acts.dq.pointer,
                        dx: dqRaw.pointer, dWeight: gradientTarget(qNorm, acts), rows: n * c.numAttentionHeads, dim: c.headDim)
        dkRaw.zero()
        rmsNormBackward(x: kRaw.pointer, weight: kNorm.value.pointer, invRMS: kInv.pointer, dy: acts.dk.pointer,
                        dx: dkRaw.pointer, dWeight: gradientTarget(kNorm, acts), rows: n * c.numKeyValueHeads, dim: c.headDim)
        return (dqRaw.pointer, dkRaw.pointer)
    }

    /// Decode (no backward): normalises `rows` rows of `heads` heads in place.
    func headNormInPlace(_ weight: Parameter?, _ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, scratch: Tensor) {
        guard let weight else { return }
        rmsNormForward(x: x, weight: weight.value.pointer, y: x, invRMS: scratch.pointer,
                       rows: rows * heads, dim: config.headDim, eps: config.rmsNormEps)
    }
}
