import SiraIO
import Foundation
import Testing
@testable import SiraModel

/// The full model's hand-written backward against central finite differences of the forward.
///
/// fp32 forward noise is ~1e-6 of the loss, so each check perturbs a whole parameter tensor
/// along a random ±1 direction (the directional derivative aggregates many entries, far above
/// the noise) and, separately, the largest-gradient entries one by one.
private func objective(_ model: LlamaModel, _ batch: TokenBatch, mode: AdapterMode) -> Double {
    let acts = model.forward(batch, mode: mode)
    let ce = model.lossHead(acts, batch: batch, gradScale: nil)
    return ce.weightedNLL / Double(batch.lossMask.reduce(0, +)) + Double(model.auxiliaryLoss)
}

private struct GradientReport {
    var worst: Double = 0
    var checks = 0
    var failures: [String] = []
}

private func checkGradients(_ model: LlamaModel, _ batch: TokenBatch, parameters: [Parameter],
                            mode: AdapterMode = .evaluation) -> GradientReport {
    for p in parameters { p.grad?.zero() }
    let step = model.forwardBackward(batch, mode: mode)
    let reference = objective(model, batch, mode: mode)
    var report = GradientReport()
    if abs(Double(step.loss) - reference) > 1e-5 * max(1, abs(reference)) {
        report.failures.append("StepLoss.loss \(step.loss) ≠ objective \(reference)")
    }
    var rng = Xoshiro256(seed: 7)
    for p in parameters {
        guard let g = p.grad else { report.failures.append("\(p.name) has no gradient"); continue }
        let w = p.value
        // Directional derivative along a random ±1 direction.
        // A k bias's gradient nearly cancels (softmax is shift-invariant, only RoPE breaks it), so
        // biases take a larger step to lift their small difference above the fp32 loss noise.
        let isBias = p.name.hasSuffix(".bias")
        let eps: Float = isBias ? 5e-3 : 5e-4
        let direction = (0..<w.count).map { _ in rng.next() & 1 == 0 ? Float(-1) : 1 }
        var analytic = 0.0, mass = 0.0
        for i in 0..<w.count { analytic += Double(g[i] * direction[i]); mass += Double(abs(g[i])) }
        let saved = w.array
        for i in 0..<w.count { w[i] = saved[i] + eps * direction[i] }
        let plus = objective(model, batch, mode: mode)
        for i in 0..<w.count { w[i] = saved[i] - eps * direction[i] }
        let minus = objective(model, batch, mode: mode)
        for i in 0..<w.count { w[i] = saved[i] }
        let numeric = (plus - minus) / (2 * Double(eps))
        let err = abs(numeric - analytic) / max(mass, 1e-3)
        report.worst = max(report.worst, err)
        report.checks += 1
        if err > 2e-3 { report.failures.append("\(p.name) direction: analytic \(analytic) numeric \(numeric) (mass \(mass))") }
        // The three largest entries, one at a time.
        let top = (0..<w.count).sorted { abs(g[$0]) > abs(g[$1]) }.prefix(3)
        for i in top {
            let h: Float = isBias ? 1e-2 : 2e-3
            let old = w[i]
            w[i] = old + h
            let lp = objective(model, batch, mode: mode)
            w[i] = old - h
            let lm = objective(model, batch, mode: mode)
            w[i] = old
            let num = (lp - lm) / (2 * Double(h))
            let e = abs(num - Double(g[i])) / max(abs(Double(g[i])), 1e-3)
            report.worst = max(report.worst, e)
            report.checks += 1
            if e > 5e-3 { report.failures.append("\(p.name)[\(i)]: analytic \(g[i]) numeric \(num)") }
        }
    }
    return report
}

@Test(arguments: [false, true])
func fullModelGradientsMatchFiniteDifferences(tied: Bool) {
    let model = tinyModel(tied: tied, seed: tied ? 11 : 12)
    let batch = randomBatch(batch: 2, seq: 7, vocab: model.config.vocabSize, seed: 5)
    let report = checkGradients(model, batch, parameters: model.parameters)
    #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
    #expect(report.checks == 4 * model.parameters.count)
}

@Test func adapterHookGradientsAndAuxiliaryLossMatchFiniteDifferences() {
    let model = tinyModel(tied: false, seed: 21)
    var probes: [ProbeAdapter] = []
    model.attachAdapters(targetModules: LlamaModel.projectionModules) { layer, module, inF, outF in
        let probe = ProbeAdapter(name: "L\(layer).\(module)", inFeatures: inF, outFeatures: outF,
                                 seed: UInt64(layer * 10 + module.count))
        probes.append(probe)
        return probe
    }
    #expect(model.adapters.count == 2 * 7)
    #expect(model.adapters.map(\.module) == LlamaModel.projectionModules + LlamaModel.projectionModules)
    model.setTrainable(false)
    let batch = randomBatch(batch: 3, seq: 5, vocab: model.config.vocabSize, seed: 8)
    let report = checkGradients(model, batch, parameters: probes.map(\.matrix), mode: .training(seed: 3))
    #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
    #expect(probes.allSatisfy { $0.lastMode == .training(seed: 3) })
    #expect(model.parameters.allSatisfy { $0.grad == nil })
    #expect(model.auxiliaryLoss == probes.reduce(0) { $0 + $1.auxiliaryLoss })
}

@Test func frozenBaseGivesTheSameAdapterGradientsAndStopsAtTheLowestAdapter() {
    func run(trainableBase: Bool) -> (grads: [[Float]], calls: [Int]) {
        let model = tinyModel(tied: true, seed: 31, layers: 3)
        var probes: [ProbeAdapter] = []
        // Adapters only in layers ≥ 1: with a frozen base nothing in layer 0 needs a gradient.
        model.attachAdapters(targetModules: ["v_proj", "down_proj"]) { layer, module, inF, outF in
            let probe = ProbeAdapter(name: "\(layer)\(module)", inFeatures: inF, outFeatures: outF, seed: UInt64(layer), auxWeight: 0)
            probes.append(probe)
            return probe
        }
        model.layers[0].v.adapter = nil
        model.layers[0].down.adapter = nil
        model.setTrainable(trainableBase)
        let batch = randomBatch(batch: 2, seq: 6, vocab: model.config.vocabSize, seed: 4)
        model.forwardBackward(batch, mode: .evaluation)
        return (probes.dropFirst(2).map { $0.matrix.grad!.array }, probes.map(\.forwardCalls))
    }
    let frozen = run(trainableBase: false), trained = run(trainableBase: true)
    #expect(frozen.grads.count == 4)
    for (a, b) in zip(frozen.grads, trained.grads) {
        let diff = zip(a, b).map { abs($0 - $1) }.max()!
        #expect(diff <= 1e-5 * max(1, b.map(abs).max()!))
    }
}

/// The family pieces' backward: q/k/v(/o) biases and Qwen3's per-head q/k norms, trainable (their
/// own gradients) and frozen under adapters (the input gradient flows through them), on awkward
/// sizes (head_dim 6 ≠ hidden/heads, one KV head, 7 and 1 tokens).
private func familyModel(_ modelType: String, attentionBias: Bool, kvHeads: Int, tied: Bool, seed: UInt64) -> LlamaModel {
    let config = LlamaConfig(hiddenSize: 14, intermediateSize: 33, numHiddenLayers: 2, numAttentionHeads: 3,
                             numKeyValueHeads: kvHeads, headDim: 6, vocabSize: 29, rmsNormEps: 1e-5, ropeTheta: 100,
                             tieWordEmbeddings: tied, maxPositionEmbeddings: 64, modelType: modelType,
                             attentionBias: attentionBias)
    let model = LlamaModel(config: config, seed: seed)
    var rng = Xoshiro256(seed: seed &+ 99)
    for p in model.parameters {
        for i in 0..<p.value.count {
            let r = Float(rng.nextNormal())
            p.value[i] = p.name.hasSuffix(".bias") ? 0.5 * r : p.shape.count == 1 ? 1 + 0.2 * r : (p.name.contains("embed") ? 1.0 : 0.35) * r
        }
    }
    model.threads = 2
    return model
}

@Test(arguments: [("qwen2", false, 1, true), ("qwen3", false, 3, false), ("qwen3", true, 1, true), ("llama", true, 3, false)])
func familyGradientsMatchFiniteDifferences(modelType: String, attentionBias: Bool, kvHeads: Int, tied: Bool) {
    let model = familyModel(modelType, attentionBias: attentionBias, kvHeads: kvHeads, tied: tied, seed: 13)
    let batch = randomBatch(batch: 2, seq: 7, vocab: model.config.vocabSize, seed: 5)
    let report = checkGradients(model, batch, parameters: model.parameters)
    #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
    let pieces = model.parameters.filter { $0.name.hasSuffix(".bias") || $0.name.contains("_norm.") && $0.name.contains("self_attn") }
    #expect(pieces.count == 2 * ((model.config.qkvBias ? 3 : 0) + (model.config.oBias ? 1 : 0) + (model.config.qkNorm ? 2 : 0)))
}

@Test(arguments: [("qwen2", 1), ("qwen3", 7)])
func adapterGradientsFlowThroughFrozenBiasesAndHeadNorms(modelType: String, seq: Int) {
    let model = familyModel(modelType, attentionBias: false, kvHeads: 1, tied: false, seed: 17)
    var probes: [ProbeAdapter] = []
    // Layer 0's q/k adapters get their gradient only through layer 1's frozen biases / head norms.
    model.attachAdapters(targetModules: ["q_proj", "k_proj"]) { layer, module, inF, outF in
        let probe = ProbeAdapter(name: "L\(layer).\(module)", inFeatures: inF, outFeatures: outF, seed: UInt64(layer * 10 + module.count))
        probes.append(probe)
        return probe
    }
    model.setTrainable(false)
    let batch = randomBatch(batch: 2, seq: seq, vocab: model.config.vocabSize, seed: 9)
    let report = checkGradients(model, batch, parameters: probes.map(\.matrix), mode: .training(seed: 3))
    #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
    #expect(model.parameters.allSatisfy { $0.grad == nil })
}

/// The real adapters (LoRA, MoLoRA, SiRA) on the Qwen families: their A/B gradients (the router
/// is discrete and tested with its own adapter) through frozen biases and head norms.
@Test(arguments: [(AdapterType.lora, "qwen2"), (.molora, "qwen3"), (.sira, "qwen3"), (.sira, "qwen2")])
func realAdaptersTrainOnTheQwenFamilies(type: AdapterType, modelType: String) throws {
    let model = familyModel(modelType, attentionBias: false, kvHeads: 1, tied: true, seed: 23)
    model.setTrainable(false)
    let set = try AdapterSet(config: AdapterConfig(type: type, r: 2, loraAlpha: 4, targetModules: ["q_proj", "k_proj", "v_proj"],
                                                   numExperts: 3, topK: 2, capacityFactor: nil, auxLossWeight: 0),
                             seed: 4)
    set.attach(to: model)
    var rng = Xoshiro256(seed: 77)
    for p in set.parameters { for i in 0..<p.value.count { p.value[i] = Float(rng.nextNormal() * 0.3) } }
    let batch = randomBatch(batch: 2, seq: 7, vocab: model.config.vocabSize, seed: 2)
    let report = checkGradients(model, batch, parameters: set.parameters.filter { $0.name.contains("lora_") && $0.name.contains("layers.0.") })
    #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
    #expect(report.checks > 0)
}

/// `layers_to_transform` (issue 19, item 2): adapters on layer 1 only; the backward stops there
/// (nothing below is trainable), and the adapters' gradients still match finite differences.
@Test func layersToTransformAdaptsOnlyThoseLayersWithExactGradients() throws {
    let model = familyModel("llama", attentionBias: false, kvHeads: 1, tied: true, seed: 31)
    model.setTrainable(false)
    let config = AdapterConfig(type: .lora, r: 2, loraAlpha: 4, targetModules: ["q_proj", "v_proj", "down_proj"], layersToTransform: [1])
    try AdapterLimits.check(config, fits: model.config)
    let set = try AdapterSet(config: config, seed: 4)
    set.attach(to: model)
    #expect(Set(model.adapters.map(\.layer)) == [1] && model.adapters.count == 3)
    #expect(!set.parameters.isEmpty && set.parameters.allSatisfy { $0.name.contains("layers.1.") })
    var rng = Xoshiro256(seed: 5)
    for p in set.parameters { for i in 0..<p.value.count { p.value[i] = Float(rng.nextNormal() * 0.3) } }
    let batch = randomBatch(batch: 2, seq: 7, vocab: model.config.vocabSize, seed: 6)
    let report = checkGradients(model, batch, parameters: set.parameters)
    #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
    #expect(report.checks > 0)
    // A layer the base does not have is refused naming the key.
    let beyond = AdapterConfig(type: .lora, r: 2, targetModules: ["q_proj"], layersToTransform: [0, 2])
    #expect(throws: AdapterConfigError.self) { try AdapterLimits.check(beyond, fits: model.config) }
}

/// Packed rows (issue 19, item 3): two examples and padding in one row, with their positions,
/// compute exactly what each computes alone (no attention across them, RoPE restarting), and the
/// adapters' gradients on the packed row match finite differences.
@Test func packedExamplesComputeAsAloneAndTheirGradientsMatchFiniteDifferences() throws {
    let model = familyModel("llama", attentionBias: false, kvHeads: 1, tied: true, seed: 41)
    model.setTrainable(false)
    let set = try AdapterSet(config: AdapterConfig(type: .lora, r: 2, loraAlpha: 4, targetModules: ["q_proj", "k_proj", "v_proj"]), seed: 3)
    set.attach(to: model)
    var rng = Xoshiro256(seed: 8)
    for p in set.parameters { for i in 0..<p.value.count { p.value[i] = Float(rng.nextNormal() * 0.3) } }
    let vocab = Int32(model.config.vocabSize)
    func example(_ n: Int, _ seed: UInt64) -> (tokens: [Int32], targets: [Int32], mask: [Float]) {
        var r = Xoshiro256(seed: seed)
        let t = (0..<n).map { _ in Int32(r.next() % UInt64(vocab)) }, y = (0..<n).map { _ in Int32(r.next() % UInt64(vocab)) }
        return (t, y, (0..<n).map { $0 < n / 2 ? 0 : 1 })
    }
    let a = example(7, 1), b = example(5, 2), pad = 4
    let packed = TokenBatch(batch: 1, seq: 7 + 5 + pad, tokens: a.tokens + b.tokens + [Int32](repeating: 0, count: pad),
                            targets: a.targets + b.targets + [Int32](repeating: 0, count: pad),
                            lossMask: a.mask + b.mask + [Float](repeating: 0, count: pad),
                            positions: (0..<7).map(Int32.init) + (0..<(5 + pad)).map(Int32.init))
    let alone = [a, b].map { TokenBatch(batch: 1, seq: $0.tokens.count, tokens: $0.tokens, targets: $0.targets, lossMask: $0.mask) }
    let together = model.loss(packed), separate = alone.map { model.loss($0) }
    #expect(together.tokens == separate[0].tokens + separate[1].tokens && together.correct == separate[0].correct + separate[1].correct)
    let sum = separate[0].nllSum + separate[1].nllSum
    #expect(abs(together.nllSum - sum) <= 1e-5 * abs(sum), "\(together.nllSum) vs \(sum)")
    // Without positions the second example would see the first: a different loss.
    var unpacked = packed
    unpacked.positions = nil
    #expect(abs(model.loss(unpacked).nllSum - sum) > 1e-4 * abs(sum))
    let report = checkGradients(model, packed, parameters: set.parameters.filter { $0.name.contains("layers.0.") })
    #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
    #expect(report.checks > 0)
}
