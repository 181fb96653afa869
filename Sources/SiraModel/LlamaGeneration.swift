import SiraIO
import SiraKernels
import Foundation

/// Keys and values of every layer for the positions processed so far, so each generated token
/// costs one token's forward instead of the whole prefix. Keys are stored rotated.
public final class KVCache: @unchecked Sendable {
    public let capacity: Int
    public internal(set) var length = 0
    let keys: [Tensor]
    let values: [Tensor]

    init(config c: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        let kvDim = c.numKeyValueHeads * c.headDim
        keys = (0..<c.numHiddenLayers).map { _ in Tensor(shape: [capacity, kvDim]) }
        values = (0..<c.numHiddenLayers).map { _ in Tensor(shape: [capacity, kvDim]) }
    }
}

extension LlamaModel {
    /// An empty cache for up to `capacity` positions (at most `max_position_embeddings`).
    public func makeKVCache(capacity: Int) -> KVCache {
        precondition(capacity > 0 && capacity <= config.contextLength,
                     "KV cache capacity \(capacity) outside 1...\(config.contextLength)")
        return KVCache(config: config, capacity: capacity)
    }

    /// Runs `tokens` at the positions after the cache's content, appends their keys and values,
    /// and returns the logits of the last token (`[1, vocab]`) or of every new token
    /// (`[tokens.count, vocab]` with `allLogits`). Adapters run in evaluation mode.
    public func decode(_ tokens: [Int], cache: KVCache, allLogits: Bool = false) -> Tensor {
        let n = tokens.count
        precondition(n > 0, "decode needs at least one token")
        precondition(cache.length + n <= cache.capacity, "KV cache full: \(cache.length) + \(n) > \(cache.capacity)")
        let c = config, d = c.hiddenSize, start = cache.length, total = start + n
        let qDim = c.numAttentionHeads * c.headDim, kvDim = c.numKeyValueHeads * c.headDim
        let x = Tensor(shape: [n, d]), normed = Tensor(shape: [n, d]), invRMS = Tensor(shape: [n])
        let q = Tensor(shape: [n, qDim]), attention = Tensor(shape: [n, qDim])
        let gate = Tensor(shape: [n, c.intermediateSize]), up = Tensor(shape: [n, c.intermediateSize])
        let hidden = Tensor(shape: [n, c.intermediateSize])
        let headInvRMS = Tensor(shape: [c.qkNorm ? n * c.numAttentionHeads : 1])
        for (i, id) in tokens.enumerated() {
            precondition(id >= 0 && id < c.vocabSize, "token id \(id) outside the vocabulary (\(c.vocabSize))")
            (x.pointer + i * d).update(from: embedTokens.value.pointer + id * d, count: d)
        }
        let mode = AdapterMode.evaluation
        for (l, layer) in layers.enumerated() {
            let k = cache.keys[l].pointer + start * kvDim, v = cache.values[l].pointer + start * kvDim
            rmsNormForward(x: x.pointer, weight: layer.inputLayernorm.value.pointer, y: normed.pointer,
                           invRMS: invRMS.pointer, rows: n, dim: d, eps: c.rmsNormEps)
            layer.q.forward(x: normed.pointer, y: q.pointer, tokens: n, mode: mode, threads: threads)
            layer.k.forward(x: normed.pointer, y: k, tokens: n, mode: mode, threads: threads)
            layer.v.forward(x: normed.pointer, y: v, tokens: n, mode: mode, threads: threads)
            headNormInPlace(layer.qNorm, q.pointer, rows: n, heads: c.numAttentionHeads, scratch: headInvRMS)
            headNormInPlace(layer.kNorm, k, rows: n, heads: c.numKeyValueHeads, scratch: headInvRMS)
            rope.reserve(start + n)
            ropeForward(table: rope, x: q.pointer, tokens: n, heads: c.numAttentionHeads, sequenceLength: .max, startPosition: start)
            ropeForward(table: rope, x: k, tokens: n, heads: c.numKeyValueHeads, sequenceLength: .max, startPosition: start)
            cachedAttention(q: q.pointer, keys: cache.keys[l].pointer, values: cache.values[l].pointer,
                            out: attention.pointer, newTokens: n, start: start)
            layer.o.forward(x: attention.pointer, y: x.pointer, tokens: n, mode: mode, accumulate: true, threads: threads)
            rmsNormForward(x: x.pointer, weight: layer.postAttentionLayernorm.value.pointer, y: normed.pointer,
                           invRMS: invRMS.pointer, rows: n, dim: d, eps: c.rmsNormEps)
            layer.gate.forward(x: normed.pointer, y: gate.pointer, tokens: n, mode: mode, threads: threads)
            layer.up.forward(x: normed.pointer, y: up.pointer, tokens: n, mode: mode, threads: threads)
            swigluForward(gate: gate.pointer, up: up.pointer, out: hidden.pointer, count: n * c.intermediateSize)
            layer.down.forward(x: hidden.pointer, y: x.pointer, tokens: n, mode: mode, accumulate: true, threads: threads)
        }
        cache.length = total
        let first = allLogits ? 0 : n - 1, rows = n - first
        rmsNormForward(x: x.pointer + first * d, weight: norm.value.pointer, y: normed.pointer, invRMS: invRMS.pointer,
                       rows: rows, dim: d, eps: c.rmsNormEps)
        let out = Tensor(shape: [rows, c.vocabSize])
        sgemm(.noTranspose, .transpose, m: rows, n: c.vocabSize, k: d, alpha: 1, a: normed.pointer, lda: d,
              b: lmHead.value.pointer, ldb: d, beta: 0, c: out.pointer, ldc: c.vocabSize, threads: threads)
        return out
    }

    /// Attention of `newTokens` queries at positions `start...` against cached keys/values
    /// `0..<start+newTokens`, one (query head) unit per thread.
    private func cachedAttention(q: UnsafeMutablePointer<Float>, keys: UnsafeMutablePointer<Float>,
                                 values: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
                                 newTokens n: Int, start: Int) {
        let c = config, hd = c.headDim, total = start + n
        let qStride = c.numAttentionHeads * hd, kvStride = c.numKeyValueHeads * hd
        let group = c.numAttentionHeads / c.numKeyValueHeads
        let scale = 1 / Float(hd).squareRoot()
        LlamaParallel.forEach(c.numAttentionHeads, threads: n * total >= 4096 ? threads : 1) { h in
            let g = h / group
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: n * total)
            defer { scores.deallocate() }
            sgemm(.noTranspose, .transpose, m: n, n: total, k: hd, alpha: 1, a: q + h * hd, lda: qStride,
                  b: keys + g * hd, ldb: kvStride, beta: 0, c: scores, ldc: total, threads: 1)
            softmaxForward(x: scores, y: scores, rows: n, cols: total, scale: scale, causalOffset: start)
            sgemm(.noTranspose, .noTranspose, m: n, n: hd, k: total, alpha: 1, a: scores, lda: total,
                  b: values + g * hd, ldb: kvStride, beta: 0, c: out + h * hd, ldc: qStride, threads: 1)
        }
    }

    /// Streams up to `maxTokens` tokens after `prompt` using a KV cache. Each sampled token is
    /// passed to `onToken`; returning false stops. A token in `stop` ends generation and is
    /// neither passed on nor returned; `onStop` is told which one. Generation also ends at `max_position_embeddings`.
    /// `temperature <= 0` is greedy (first argmax); otherwise nucleus sampling over the smallest
    /// set of tokens whose probability reaches `topP`, reproducible for a `seed`.
    @discardableResult
    public func generate(prompt: [Int], maxTokens: Int, temperature: Float = 0, topP: Float = 1, seed: UInt64 = 0,
                         stop: Set<Int> = [], onToken: (Int) -> Bool = { _ in true }, onStop: (Int) -> Void = { _ in }) -> [Int] {
        precondition(!prompt.isEmpty, "generate needs a non-empty prompt")
        precondition(prompt.count <= config.contextLength,
                     "prompt of \(prompt.count) tokens exceeds the context length \(config.contextLength)")
        guard maxTokens > 0 else { return [] }
        // Saturating: `prompt.count + maxTokens` must not overflow for a huge `maxTokens`.
        let room = config.contextLength - prompt.count
        let cache = makeKVCache(capacity: maxTokens >= room ? config.contextLength : prompt.count + maxTokens)
        var sampler = TokenSampler(temperature: temperature, topP: topP, seed: seed)
        var logits = decode(prompt, cache: cache)
        var produced: [Int] = []
        while produced.count < maxTokens {
            let token = sampler.sample(logits.pointer, count: config.vocabSize)
            if stop.contains(token) {
                onStop(token)
                break
            }
            produced.append(token)
            if !onToken(token) || cache.length >= cache.capacity || produced.count == maxTokens { break }
            logits = decode([token], cache: cache)
        }
        return produced
    }
}

/// Greedy or temperature + top-p (nucleus) sampling, reproducible for a seed.
public struct TokenSampler {
    public let temperature: Float
    public let topP: Float
    private var rng: Xoshiro256

    public init(temperature: Float, topP: Float, seed: UInt64) {
        self.temperature = temperature
        self.topP = topP
        rng = Xoshiro256(seed: seed)
    }

    public mutating func sample(_ logits: UnsafePointer<Float>, count: Int) -> Int {
        // NaN never wins (`isBetter`), so an all-NaN row still yields an id inside the vocabulary.
        var best = 0
        for j in 1..<count where logits[j] > logits[best] || (logits[best].isNaN && !logits[j].isNaN) { best = j }
        if temperature <= 0 || !logits[best].isFinite { return best }
        let mx = Double(logits[best]), t = Double(temperature)
        let probs = (0..<count).map { exp((Double(logits[$0]) - mx) / t) }
        var order = Array(0..<count)
        if topP < 1 {
            order.sort { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
            let total = probs.reduce(0, +)
            var cumulative = 0.0, keep = 0
            while keep < count {
                cumulative += probs[order[keep]]
                keep += 1
                if cumulative >= Double(max(topP, 0)) * total { break }
            }
            order.removeSubrange(keep...)
        }
        let mass = order.reduce(0.0) { $0 + probs[$1] }
        var u = rng.nextUnit() * mass
        for j in order {
            u -= probs[j]
            if u < 0 { return j }
        }
        return order.last!
    }
}
