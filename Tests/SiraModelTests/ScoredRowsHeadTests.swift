import Foundation
import SiraIO
import Testing
@testable import SiraModel

/// Issue 19, item 1: the loss head runs on scored positions only. Against the head on every
/// position (the path the finite-difference tests have always checked), on awkward numbers of
/// scored positions: the same loss, token counts and accuracy, and the same gradients for the
/// adapters (base frozen) and for every base weight including `lm_head` (all trainable).
@Suite struct ScoredRowsHeadTests {
    static func run(_ model: LlamaModel, _ batch: TokenBatch, parameters: [Parameter], fullHead: Bool) -> (StepLoss, [[Float]]) {
        model.headOnScoredRowsOnly = !fullHead
        for p in parameters { p.grad?.zero() }
        let loss = model.forwardBackward(batch, mode: .training(seed: 1))
        return (loss, parameters.map { Array($0.grad!.buffer) })
    }

    @Test(arguments: [(1, false), (7, false), (33, false), (0, false), (66, false), (7, true), (33, true)])
    func scoredRowsOnlyGiveTheFullHeadsLossAndGradients(scored: Int, trainBase: Bool) throws {
        let config = LlamaConfig(hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 2,
                                 numKeyValueHeads: 1, vocabSize: 129, tieWordEmbeddings: false, maxPositionEmbeddings: 64)
        let model = LlamaModel(config: config, seed: 5)
        model.threads = 2
        var parameters: [Parameter]
        if trainBase {
            model.setTrainable(true)
            parameters = model.parameters
        } else {
            model.setTrainable(false)
            let set = try AdapterSet(config: AdapterConfig(type: .lora, r: 2, loraAlpha: 4, targetModules: ["q_proj", "v_proj", "down_proj"]), seed: 3)
            set.attach(to: model)
            var rng = Xoshiro256(seed: 9)
            for p in set.parameters { for i in 0..<p.value.count { p.value[i] = Float(rng.nextNormal() * 0.2) } }
            parameters = set.parameters
        }
        // 2 rows of 33: `scored` positions spread over both rows, one with a fractional weight.
        var batch = randomBatch(batch: 2, seq: 33, vocab: config.vocabSize, seed: 4)
        var rng = Xoshiro256(seed: UInt64(scored))
        let chosen = Set((0..<66).map { ($0, rng.next()) }.sorted { $0.1 < $1.1 }.prefix(scored).map(\.0))
        for i in 0..<66 {
            batch.lossMask[i] = chosen.contains(i) ? (i % 5 == 0 ? 0.5 : 1) : 0
            if batch.targets[i] < 0 { batch.targets[i] = 3 }
        }
        let (full, fullGrads) = Self.run(model, batch, parameters: parameters, fullHead: true)
        let (compact, compactGrads) = Self.run(model, batch, parameters: parameters, fullHead: false)
        #expect(compact.tokens == full.tokens && compact.correct == full.correct && compact.tokens == scored)
        #expect(abs(compact.loss - full.loss) <= 1e-6 * max(1, abs(full.loss)), "\(compact.loss) vs \(full.loss)")
        for (p, (a, b)) in zip(parameters, zip(compactGrads, fullGrads)) {
            let scale = b.map(abs).max() ?? 0
            let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(diff <= 1e-5 * max(scale, 1e-6), "\(p.name): max diff \(diff), largest \(scale)")
        }
    }
}
