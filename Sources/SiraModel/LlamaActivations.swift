/// Everything the training forward keeps for the backward pass, and the backward's work buffers,
/// for one `batch × seq` shape (reallocated only when the shape changes).
///
/// Per layer `l`: the residual stream entering it (`residual[l]`; `residual[layers]` is the final
/// hidden state), the inverse RMS of both norms, rotated q/k, v, the attention output, the
/// mid-block residual, and the MLP's gate/up pre-activations — about
/// `layers · tokens · (2·hidden + 2·heads·hd + 2·kvHeads·hd + 2·intermediate)` floats, linear in
/// the sequence length (attention probabilities are recomputed in the backward, not kept).
/// The normed inputs and the SwiGLU output are cheap to recompute (deterministically, so bit for
/// bit what the forward saw) and live in buffers shared by all layers.
final class LlamaActivations {
    let batch: Int, seq: Int, tokens: Int
    let residual: [Tensor]
    let layers: [LayerActivations]
    let finalNormed: Tensor, finalInvRMS: Tensor
    /// Shared by all layers: the current norm output and SwiGLU output.
    let normed: Tensor, hidden: Tensor
    // Backward work buffers, shared by all layers.
    let dResidual: Tensor, dNormed: Tensor
    let dq: Tensor, dk: Tensor, dv: Tensor, dAttention: Tensor
    let dGate: Tensor, dUp: Tensor, dHidden: Tensor
    let normScratch: Tensor
    /// Qwen3 only: ∂L/∂(q, k before the per-head norm).
    let dqRaw: Tensor?, dkRaw: Tensor?
    /// The current batch's packed examples and positions (`TokenBatch.positions`), nil when each
    /// row is one sequence; set by every forward, read by its backward.
    var segments: [(offset: Int, length: Int)]?
    var positions: [Int]?

    final class LayerActivations {
        let invRMS1: Tensor
        let q: Tensor, k: Tensor, v: Tensor, attention: Tensor
        let mid: Tensor, invRMS2: Tensor
        let gate: Tensor, up: Tensor
        /// Qwen3 only: q and k before the per-head norm, and each head row's inverse RMS.
        let qRaw: Tensor?, kRaw: Tensor?, qInvRMS: Tensor?, kInvRMS: Tensor?

        init(tokens n: Int, config c: LlamaConfig) {
            let d = c.hiddenSize, qDim = c.numAttentionHeads * c.headDim, kvDim = c.numKeyValueHeads * c.headDim
            invRMS1 = Tensor(shape: [n])
            q = Tensor(shape: [n, qDim]); k = Tensor(shape: [n, kvDim]); v = Tensor(shape: [n, kvDim])
            attention = Tensor(shape: [n, qDim])
            mid = Tensor(shape: [n, d]); invRMS2 = Tensor(shape: [n])
            gate = Tensor(shape: [n, c.intermediateSize]); up = Tensor(shape: [n, c.intermediateSize])
            qRaw = c.qkNorm ? Tensor(shape: [n, qDim]) : nil
            kRaw = c.qkNorm ? Tensor(shape: [n, kvDim]) : nil
            qInvRMS = c.qkNorm ? Tensor(shape: [n * c.numAttentionHeads]) : nil
            kInvRMS = c.qkNorm ? Tensor(shape: [n * c.numKeyValueHeads]) : nil
        }
    }

    init(batch: Int, seq: Int, config c: LlamaConfig) {
        self.batch = batch
        self.seq = seq
        let n = batch * seq
        tokens = n
        let d = c.hiddenSize, qDim = c.numAttentionHeads * c.headDim, kvDim = c.numKeyValueHeads * c.headDim
        residual = (0...c.numHiddenLayers).map { _ in Tensor(shape: [n, d]) }
        layers = (0..<c.numHiddenLayers).map { _ in LayerActivations(tokens: n, config: c) }
        finalNormed = Tensor(shape: [n, d]); finalInvRMS = Tensor(shape: [n])
        normed = Tensor(shape: [n, d]); hidden = Tensor(shape: [n, c.intermediateSize])
        dResidual = Tensor(shape: [n, d]); dNormed = Tensor(shape: [n, d])
        dq = Tensor(shape: [n, qDim]); dk = Tensor(shape: [n, kvDim]); dv = Tensor(shape: [n, kvDim])
        dAttention = Tensor(shape: [n, qDim])
        dGate = Tensor(shape: [n, c.intermediateSize]); dUp = Tensor(shape: [n, c.intermediateSize])
        dHidden = Tensor(shape: [n, c.intermediateSize])
        normScratch = Tensor(shape: [max(d, c.headDim)])
        dqRaw = c.qkNorm ? Tensor(shape: [n, qDim]) : nil
        dkRaw = c.qkNorm ? Tensor(shape: [n, kvDim]) : nil
    }
}
