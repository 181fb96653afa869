import Foundation
import Testing
@testable import SiraModel

/// Full recompute of the last position's logits for a sequence (no cache).
private func lastLogits(_ model: LlamaModel, _ tokens: [Int]) -> [Float] {
    let all = model.logits(tokens: tokens.map { Int32($0) }, batch: 1, seq: tokens.count)
    let v = model.config.vocabSize
    return Array(all.array[(tokens.count - 1) * v ..< tokens.count * v])
}

@Test func kvCacheDecodingEqualsFullRecomputeWithAdapters() {
    let model = tinyModel(tied: false, seed: 41, layers: 3)
    var probes: [ProbeAdapter] = []
    model.attachAdapters(targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"]) { l, m, i, o in
        let p = ProbeAdapter(name: "\(l)\(m)", inFeatures: i, outFeatures: o, seed: UInt64(l * 7 + m.count))
        probes.append(p)
        return p
    }
    let prompt = [5, 1, 33, 7, 7, 20, 0]
    let cache = model.makeKVCache(capacity: 33)
    var tokens = prompt
    var logits = model.decode(prompt, cache: cache).array
    for step in 0..<26 {
        let full = lastLogits(model, tokens)
        let err = zip(logits, full).map { abs($0 - $1) }.max()!
        #expect(err < 1e-4, "step \(step): max difference \(err)")
        let next = full.indices.max { full[$0] < full[$1] || (full[$0] == full[$1] && $0 > $1) }!
        tokens.append(next)
        logits = model.decode([next], cache: cache).array
    }
    #expect(cache.length == prompt.count + 26)
    #expect(probes.allSatisfy { $0.lastMode == .evaluation })
}

@Test func greedyGenerationFollowsTheArgmaxAndStops() {
    let model = tinyModel(tied: true, seed: 42)
    let prompt = [3, 9, 27]
    var streamed: [Int] = []
    let out = model.generate(prompt: prompt, maxTokens: 12, temperature: 0, seed: 1) { streamed.append($0); return true }
    #expect(out == streamed && out.count == 12)
    var seq = prompt
    for t in out {
        let l = lastLogits(model, seq)
        let best = l.indices.max { l[$0] < l[$1] || (l[$0] == l[$1] && $0 > $1) }!
        #expect(t == best)
        seq.append(t)
    }
    // A stop token ends generation before it is emitted; onToken returning false stops after it.
    let stopped = model.generate(prompt: prompt, maxTokens: 12, stop: [out[4]])
    #expect(stopped == Array(out.prefix(while: { $0 != out[4] })))
    var count = 0
    let early = model.generate(prompt: prompt, maxTokens: 12) { _ in count += 1; return count < 3 }
    #expect(early == Array(out.prefix(3)))
    // Positions 60...63 are processed, each predicting one more token; then the context is full.
    let long = model.generate(prompt: Array(repeating: 1, count: 60), maxTokens: 50)
    #expect(long.count == 5)
}

@Test func samplingIsReproducibleAndTopPNarrowsTheChoice() {
    let model = tinyModel(tied: false, seed: 43)
    let a = model.generate(prompt: [1, 2, 3], maxTokens: 20, temperature: 1.3, topP: 0.9, seed: 77)
    let b = model.generate(prompt: [1, 2, 3], maxTokens: 20, temperature: 1.3, topP: 0.9, seed: 77)
    let c = model.generate(prompt: [1, 2, 3], maxTokens: 20, temperature: 1.3, topP: 0.9, seed: 78)
    #expect(a == b && a != c)
    // A nucleus so small it holds only the most likely token is greedy decoding.
    let nucleus = model.generate(prompt: [1, 2, 3], maxTokens: 15, temperature: 1, topP: 1e-6, seed: 5)
    #expect(nucleus == model.generate(prompt: [1, 2, 3], maxTokens: 15, temperature: 0))

    // The sampler's frequencies follow softmax(z / T) restricted to the nucleus.
    let logits: [Float] = [2, 1, 0.5, 0, -1, 3]
    var sampler = TokenSampler(temperature: 0.7, topP: 0.8, seed: 9)
    var counts = [Int](repeating: 0, count: 6)
    for _ in 0..<20000 { counts[logits.withUnsafeBufferPointer { sampler.sample($0.baseAddress!, count: 6) }] += 1 }
    let p = logits.map { exp(Double($0) / 0.7) }
    let sorted = p.indices.sorted { p[$0] > p[$1] }
    var kept: [Int] = [], mass = 0.0
    for i in sorted where mass < 0.8 * p.reduce(0, +) { kept.append(i); mass += p[i] }
    for i in 0..<6 {
        let expected = kept.contains(i) ? p[i] / mass : 0
        #expect(abs(Double(counts[i]) / 20000 - expected) < 0.015, "token \(i): \(counts[i]) vs \(expected)")
    }
}
