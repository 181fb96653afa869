import SiraKernels
import Foundation

// The full-sequence forward pass and its hand-written backward (llm.c style: each block's
// forward and backward side by side), the loss, and the evaluation entry points.

extension LlamaModel {
    /// One training step's forward and backward: mask-weighted mean cross-entropy plus the
    /// adapters' auxiliary losses. Gradients are ACCUMULATED into every trainable parameter —
    /// base weights (including the input embedding and `lm_head`) and adapters through the
    /// projection hook; the caller zeroes them after the optimizer step. Backward stops below the
    /// lowest layer that holds anything trainable.
    @discardableResult
    public func forwardBackward(_ batch: TokenBatch, mode: AdapterMode) -> StepLoss {
        let acts = forward(batch, mode: mode)
        let weightSum = batch.lossMask.reduce(0, +)
        let scale: Float = weightSum > 0 ? 1 / weightSum : 0
        let ce = lossHead(acts, batch: batch, gradScale: scale)
        backward(acts, batch: batch)
        let mean = weightSum > 0 ? Float(ce.weightedNLL / Double(weightSum)) : 0
        let aux = auxiliaryLoss
        return StepLoss(loss: mean + aux, crossEntropy: mean, auxiliary: aux, tokens: ce.tokens, correct: ce.correct)
    }

    /// Forward only: the unweighted sum of −log p(target) over positions with a non-zero mask,
    /// their count, and how many of them the argmax predicts (token accuracy).
    public func loss(_ batch: TokenBatch, mode: AdapterMode = .evaluation) -> (nllSum: Double, tokens: Int, correct: Int) {
        let acts = forward(batch, mode: mode)
        let ce = lossHead(acts, batch: batch, gradScale: nil)
        return (ce.nllSum, ce.tokens, ce.correct)
    }

    /// Logits `[batch·seq, vocab]` for `batch` rows of `seq` tokens (row-major).
    public func logits(tokens: [Int32], batch: Int, seq: Int, mode: AdapterMode = .evaluation) -> Tensor {
        let b = TokenBatch(batch: batch, seq: seq, tokens: tokens, targets: tokens,
                           lossMask: [Float](repeating: 0, count: tokens.count))
        let acts = forward(b, mode: mode)
        let n = acts.tokens, d = config.hiddenSize, vocab = config.vocabSize
        let out = Tensor(shape: [n, vocab])
        sgemm(.noTranspose, .transpose, m: n, n: vocab, k: d, alpha: 1, a: acts.finalNormed.pointer, lda: d,
              b: lmHead.value.pointer, ldb: d, beta: 0, c: out.pointer, ldc: vocab, threads: threads)
        return out
    }

    /// Frees the stored activations (they are kept between steps of the same shape).
    public func releaseActivations() { activations = nil }

    // MARK: - forward

    func forward(_ batch: TokenBatch, mode: AdapterMode) -> LlamaActivations {
        let acts: LlamaActivations
        if let a = activations, a.batch == batch.batch, a.seq == batch.seq {
            acts = a
        } else {
            activations = nil
            acts = LlamaActivations(batch: batch.batch, seq: batch.seq, config: config)
            activations = acts
        }
        let n = acts.tokens, d = config.hiddenSize
        // Packed rows: each example attends to itself only, its positions counted from 0.
        acts.segments = batch.positions == nil ? nil : batch.segments
        acts.positions = batch.positions?.map(Int.init)
        batch.tokens.withUnsafeBufferPointer { ids in
            embeddingForward(table: embedTokens.value.pointer, ids: ids.baseAddress!, out: acts.residual[0].pointer,
                             tokens: n, dim: d, vocab: config.vocabSize)
        }
        for (l, layer) in layers.enumerated() {
            layerForward(layer, acts.layers[l], input: acts.residual[l].pointer, output: acts.residual[l + 1].pointer,
                         acts: acts, batch: batch.batch, seq: batch.seq, mode: mode)
        }
        rmsNormForward(x: acts.residual[layers.count].pointer, weight: norm.value.pointer, y: acts.finalNormed.pointer,
                       invRMS: acts.finalInvRMS.pointer, rows: n, dim: d, eps: config.rmsNormEps)
        return acts
    }

    func attentionShape(_ batch: Int, _ seq: Int, _ acts: LlamaActivations) -> AttentionShape {
        AttentionShape(batch: batch, seq: seq, heads: config.numAttentionHeads,
                       kvHeads: config.numKeyValueHeads, headDim: config.headDim, segments: acts.segments)
    }

    /// RoPE on `x` (`heads` heads per row) at the batch's positions: `t % seq`, or each token's
    /// place in its packed example. `inverse`: the backward (the transposed rotation).
    func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, seq: Int, acts: LlamaActivations, inverse: Bool) {
        let n = acts.tokens
        if let positions = acts.positions {
            positions.withUnsafeBufferPointer { p in
                if inverse { ropeBackward(table: rope, dx: x, tokens: n, heads: heads, positions: p.baseAddress!) }
                else { ropeForward(table: rope, x: x, tokens: n, heads: heads, positions: p.baseAddress!) }
            }
        } else if inverse {
            ropeBackward(table: rope, dx: x, tokens: n, heads: heads, sequenceLength: seq)
        } else {
            ropeForward(table: rope, x: x, tokens: n, heads: heads, sequenceLength: seq)
        }
    }

    func layerForward(_ layer: LlamaLayer, _ a: LlamaActivations.LayerActivations, input: UnsafeMutablePointer<Float>,
                      output: UnsafeMutablePointer<Float>, acts: LlamaActivations, batch: Int, seq: Int, mode: AdapterMode) {
        let n = batch * seq, d = config.hiddenSize
        let c = config
        let normed = acts.normed.pointer, hidden = acts.hidden.pointer
        // Attention block: mid = input + o(attention(rope(q(x̂)), rope(k(x̂)), v(x̂))), x̂ = rmsnorm(input).
        rmsNormForward(x: input, weight: layer.inputLayernorm.value.pointer, y: normed,
                       invRMS: a.invRMS1.pointer, rows: n, dim: d, eps: c.rmsNormEps)
        layer.q.forward(x: normed, y: (a.qRaw ?? a.q).pointer, tokens: n, mode: mode, threads: threads)
        layer.k.forward(x: normed, y: (a.kRaw ?? a.k).pointer, tokens: n, mode: mode, threads: threads)
        layer.v.forward(x: normed, y: a.v.pointer, tokens: n, mode: mode, threads: threads)
        headNormForward(layer, a, tokens: n)
        rope.reserve(seq)
        rotate(a.q.pointer, heads: c.numAttentionHeads, seq: seq, acts: acts, inverse: false)
        rotate(a.k.pointer, heads: c.numKeyValueHeads, seq: seq, acts: acts, inverse: false)
        causalAttentionForward(attentionShape(batch, seq, acts),
                               AttentionPointers(q: a.q.pointer, k: a.k.pointer, v: a.v.pointer, out: a.attention.pointer),
                               threads: threads)
        a.mid.pointer.update(from: input, count: n * d)
        layer.o.forward(x: a.attention.pointer, y: a.mid.pointer, tokens: n, mode: mode, accumulate: true, threads: threads)
        // MLP block: output = mid + down(silu(gate(x̂)) · up(x̂)), x̂ = rmsnorm(mid).
        rmsNormForward(x: a.mid.pointer, weight: layer.postAttentionLayernorm.value.pointer, y: normed,
                       invRMS: a.invRMS2.pointer, rows: n, dim: d, eps: c.rmsNormEps)
        layer.gate.forward(x: normed, y: a.gate.pointer, tokens: n, mode: mode, threads: threads)
        layer.up.forward(x: normed, y: a.up.pointer, tokens: n, mode: mode, threads: threads)
        swigluForward(gate: a.gate.pointer, up: a.up.pointer, out: hidden, count: n * c.intermediateSize)
        output.update(from: a.mid.pointer, count: n * d)
        layer.down.forward(x: hidden, y: output, tokens: n, mode: mode, accumulate: true, threads: threads)
    }

    // MARK: - loss head

    /// Final hidden state → `lm_head` logits → cross-entropy. With `gradScale`, also writes
    /// `∂L/∂finalNormed` into `acts.dNormed` and accumulates `lm_head`'s gradient.
    ///
    /// Only positions whose loss weight is non-zero reach the head: a prompt or padding position
    /// has no loss and a zero gradient, yet the `[vocab × hidden]` head is the largest matrix of a
    /// small model (21% of a SmolLM2-135M forward), and adapter data scores a few answer tokens
    /// per example. Their rows of the final hidden state are gathered, run through the head, and
    /// their gradient scattered back (zeros elsewhere): the same loss and gradients as the full
    /// computation, in a fraction of the work.
    func lossHead(_ acts: LlamaActivations, batch: TokenBatch, gradScale: Float?) -> CrossEntropySums {
        let n = acts.tokens, d = config.hiddenSize
        var scored: [Int32] = []
        scored.reserveCapacity(n)
        for (i, w) in batch.lossMask.enumerated() where w != 0 { scored.append(Int32(i)) }
        if scored.count == n || !headOnScoredRowsOnly {
            return batch.targets.withUnsafeBufferPointer { targets in
                batch.lossMask.withUnsafeBufferPointer { weights in
                    headRows(x: acts.finalNormed.pointer, dx: acts.dNormed.pointer, targets: targets.baseAddress!,
                             weights: weights.baseAddress!, rows: n, gradScale: gradScale)
                }
            }
        }
        if gradScale != nil { acts.dNormed.zero() }
        let m = scored.count
        guard m > 0 else { return CrossEntropySums() }
        let x = Tensor(shape: [m, d]), dx = Tensor(shape: [gradScale == nil ? 0 : m, d])
        gatherRows(source: acts.finalNormed.pointer, indices: scored, count: m, dim: d, destination: x.pointer, threads: threads)
        let targets = scored.map { batch.targets[Int($0)] }, weights = scored.map { batch.lossMask[Int($0)] }
        let sums = headRows(x: x.pointer, dx: dx.pointer, targets: targets, weights: weights, rows: m, gradScale: gradScale)
        if gradScale != nil {
            scatterAddRows(source: dx.pointer, indices: scored, count: m, dim: d, destination: acts.dNormed.pointer, threads: threads)
        }
        return sums
    }

    /// The head and cross-entropy on `rows` rows of `x` `[rows, hidden]`, in chunks so the
    /// `[rows, vocab]` logits never exist at once; with `gradScale`, `dx` gets `∂L/∂x`.
    private func headRows(x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                          weights: UnsafePointer<Float>, rows n: Int, gradScale: Float?) -> CrossEntropySums {
        let d = config.hiddenSize, vocab = config.vocabSize
        let chunk = min(n, max(128, (4 << 20) / vocab))
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: chunk * vocab)
        defer { logits.deallocate() }
        var total = CrossEntropySums()
        var start = 0
        while start < n {
            let rows = min(chunk, n - start)
            let xs = x + start * d
            sgemm(.noTranspose, .transpose, m: rows, n: vocab, k: d, alpha: 1, a: xs, lda: d,
                  b: lmHead.value.pointer, ldb: d, beta: 0, c: logits, ldc: vocab, threads: threads)
            total.add(softmaxCrossEntropy(logits: logits, targets: targets + start, weights: weights + start,
                                          rows: rows, vocab: vocab, gradScale: gradScale, threads: threads))
            if gradScale != nil {
                sgemm(.noTranspose, .noTranspose, m: rows, n: d, k: vocab, alpha: 1, a: logits, lda: vocab,
                      b: lmHead.value.pointer, ldb: d, beta: 0, c: dx + start * d, ldc: d, threads: threads)
                if let g = lmHead.grad {
                    sgemm(.transpose, .noTranspose, m: vocab, n: d, k: rows, alpha: 1, a: logits, lda: vocab,
                          b: xs, ldb: d, beta: 1, c: g.pointer, ldc: d, threads: threads)
                }
            }
            start += rows
        }
        return total
    }

    // MARK: - backward

    /// Backward from `acts.dNormed` (set by `lossHead`) down to the lowest layer with trainable
    /// parameters, and into the embedding table when it is trainable.
    func backward(_ acts: LlamaActivations, batch: TokenBatch) {
        let n = acts.tokens, d = config.hiddenSize
        let embeddingTrainable = embedTokens.isTrainable
        let lowest = embeddingTrainable ? 0 : (layers.firstIndex { $0.needsGradient } ?? layers.count)
        let normNeeded = lowest < layers.count || norm.isTrainable
        guard normNeeded else { return }
        acts.dResidual.zero()
        rmsNormBackward(x: acts.residual[layers.count].pointer, weight: norm.value.pointer, invRMS: acts.finalInvRMS.pointer,
                        dy: acts.dNormed.pointer, dx: acts.dResidual.pointer,
                        dWeight: gradientTarget(norm, acts), rows: n, dim: d)
        if lowest < layers.count {
            for l in stride(from: layers.count - 1, through: lowest, by: -1) {
                layerBackward(layers[l], acts.layers[l], input: acts.residual[l].pointer, acts: acts,
                              batch: batch.batch, seq: batch.seq)
            }
        }
        if let g = embedTokens.grad {
            batch.tokens.withUnsafeBufferPointer { ids in
                embeddingBackward(ids: ids.baseAddress!, dOut: acts.dResidual.pointer, dTable: g.pointer,
                                  tokens: n, dim: d, vocab: config.vocabSize)
            }
        }
    }

    /// The parameter's gradient buffer, or a scratch buffer whose content is thrown away.
    func gradientTarget(_ p: Parameter, _ acts: LlamaActivations) -> UnsafeMutablePointer<Float> {
        if let g = p.grad { return g.pointer }
        acts.normScratch.zero()
        return acts.normScratch.pointer
    }

    /// Takes `acts.dResidual` = ∂L/∂(layer output) and leaves ∂L/∂(layer input) in it.
    func layerBackward(_ layer: LlamaLayer, _ a: LlamaActivations.LayerActivations, input: UnsafeMutablePointer<Float>,
                       acts: LlamaActivations, batch: Int, seq: Int) {
        let n = batch * seq, d = config.hiddenSize, c = config
        let dRes = acts.dResidual.pointer
        let normed = acts.normed.pointer, hidden = acts.hidden.pointer
        // MLP block. The residual passes dRes through unchanged; the branch adds to it.
        swigluForward(gate: a.gate.pointer, up: a.up.pointer, out: hidden, count: n * c.intermediateSize)
        layer.down.backward(x: hidden, dy: dRes, dx: acts.dHidden.pointer, tokens: n, accumulateDx: false, threads: threads)
        acts.dGate.zero()
        acts.dUp.zero()
        swigluBackward(gate: a.gate.pointer, up: a.up.pointer, dOut: acts.dHidden.pointer,
                       dGate: acts.dGate.pointer, dUp: acts.dUp.pointer, count: n * c.intermediateSize)
        rmsNormForward(x: a.mid.pointer, weight: layer.postAttentionLayernorm.value.pointer, y: normed,
                       invRMS: a.invRMS2.pointer, rows: n, dim: d, eps: c.rmsNormEps)
        layer.gate.backward(x: normed, dy: acts.dGate.pointer, dx: acts.dNormed.pointer, tokens: n,
                            accumulateDx: false, threads: threads)
        layer.up.backward(x: normed, dy: acts.dUp.pointer, dx: acts.dNormed.pointer, tokens: n,
                          accumulateDx: true, threads: threads)
        rmsNormBackward(x: a.mid.pointer, weight: layer.postAttentionLayernorm.value.pointer, invRMS: a.invRMS2.pointer,
                        dy: acts.dNormed.pointer, dx: dRes, dWeight: gradientTarget(layer.postAttentionLayernorm, acts),
                        rows: n, dim: d)
        // Attention block.
        layer.o.backward(x: a.attention.pointer, dy: dRes, dx: acts.dAttention.pointer, tokens: n, accumulateDx: false, threads: threads)
        causalAttentionBackward(attentionShape(batch, seq, acts),
                                AttentionPointers(q: a.q.pointer, k: a.k.pointer, v: a.v.pointer, out: a.attention.pointer),
                                dOut: acts.dAttention.pointer, dq: acts.dq.pointer, dk: acts.dk.pointer, dv: acts.dv.pointer,
                                threads: threads)
        rotate(acts.dq.pointer, heads: c.numAttentionHeads, seq: seq, acts: acts, inverse: true)
        rotate(acts.dk.pointer, heads: c.numKeyValueHeads, seq: seq, acts: acts, inverse: true)
        // The adapters see pre-rotation (and pre-head-norm) q/k gradients: they hook the projections.
        let (dq, dk) = headNormBackward(layer, a, acts, tokens: n)
        rmsNormForward(x: input, weight: layer.inputLayernorm.value.pointer, y: normed,
                       invRMS: a.invRMS1.pointer, rows: n, dim: d, eps: c.rmsNormEps)
        layer.q.backward(x: normed, dy: dq, dx: acts.dNormed.pointer, tokens: n, accumulateDx: false, threads: threads)
        layer.k.backward(x: normed, dy: dk, dx: acts.dNormed.pointer, tokens: n, accumulateDx: true, threads: threads)
        layer.v.backward(x: normed, dy: acts.dv.pointer, dx: acts.dNormed.pointer, tokens: n, accumulateDx: true, threads: threads)
        rmsNormBackward(x: input, weight: layer.inputLayernorm.value.pointer, invRMS: a.invRMS1.pointer,
                        dy: acts.dNormed.pointer, dx: dRes, dWeight: gradientTarget(layer.inputLayernorm, acts),
                        rows: n, dim: d)
    }
}
