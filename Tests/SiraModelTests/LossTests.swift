import SiraIO
import Foundation
import Testing
@testable import SiraModel

/// The loss head (chunked lm_head + fused cross-entropy) against −log softmax computed in Double
/// from the full logits.
private func reference(_ model: LlamaModel, _ batch: TokenBatch) -> (nll: Double, weighted: Double, tokens: Int, correct: Int) {
    let logits = model.logits(tokens: batch.tokens, batch: batch.batch, seq: batch.seq)
    let v = model.config.vocabSize
    var nll = 0.0, weighted = 0.0, tokens = 0, correct = 0
    for r in 0..<batch.tokenCount where batch.lossMask[r] != 0 {
        let row = (0..<v).map { Double(logits[r * v + $0]) }
        let mx = row.max()!
        let lse = mx + log(row.reduce(0) { $0 + exp($1 - mx) })
        let t = Int(batch.targets[r])
        nll += lse - row[t]
        weighted += Double(batch.lossMask[r]) * (lse - row[t])
        tokens += 1
        if row.firstIndex(of: mx)! == t { correct += 1 }
    }
    return (nll, weighted, tokens, correct)
}

@Test func evaluationLossAndTrainingLossMatchADoubleReference() {
    let model = tinyModel(tied: false, seed: 51)
    let batch = randomBatch(batch: 3, seq: 11, vocab: model.config.vocabSize, seed: 13)
    let want = reference(model, batch)
    let got = model.loss(batch)
    #expect(abs(got.nllSum - want.nll) < 1e-4 * max(1, want.nll))
    #expect(got.tokens == want.tokens && got.correct == want.correct)
    #expect(got.tokens == batch.lossMask.filter { $0 != 0 }.count)
    let step = model.forwardBackward(batch, mode: .evaluation)
    let mean = want.weighted / Double(batch.lossMask.reduce(0, +))
    #expect(abs(Double(step.crossEntropy) - mean) < 1e-5 * max(1, mean))
    #expect(step.auxiliary == 0 && step.loss == step.crossEntropy && step.correct == want.correct)
}

@Test func scoringAPromptCompletionPairScoresOnlyTheCompletion() {
    let model = tinyModel(tied: true, seed: 52)
    let prompt = [4, 8, 15], completion = [16, 23, 4, 2]
    let whole = prompt + completion
    let scored = model.loss(TokenBatch(sequence: whole, scoredFrom: prompt.count))
    #expect(scored.tokens == completion.count)
    // Σ over completion positions of −log p(token | prefix), from full-sequence logits.
    let logits = model.logits(tokens: whole.dropLast().map { Int32($0) }, batch: 1, seq: whole.count - 1)
    let v = model.config.vocabSize
    var want = 0.0
    for pos in (prompt.count - 1)..<(whole.count - 1) {
        let row = (0..<v).map { Double(logits[pos * v + $0]) }
        let mx = row.max()!
        want += mx + log(row.reduce(0) { $0 + exp($1 - mx) }) - row[whole[pos + 1]]
    }
    #expect(abs(scored.nllSum - want) < 1e-4 * max(1, want))
    let all = model.loss(TokenBatch(sequence: whole))
    #expect(all.tokens == whole.count - 1 && all.nllSum > scored.nllSum)
}

@Test func largeVocabularyIsChunkedWithoutChangingTheLoss() {
    // vocab 9001 makes the loss head run in chunks of 465 rows; 2 × 300 tokens span two chunks.
    let config = LlamaConfig(hiddenSize: 8, intermediateSize: 12, numHiddenLayers: 1, numAttentionHeads: 2,
                             numKeyValueHeads: 1, vocabSize: 9001, maxPositionEmbeddings: 512)
    let model = LlamaModel(config: config, seed: 3)
    let batch = randomBatch(batch: 2, seq: 300, vocab: 9001, seed: 2)
    let want = reference(model, batch)
    let got = model.loss(batch)
    #expect(abs(got.nllSum - want.nll) < 1e-5 * want.nll)
    #expect(got.tokens == want.tokens && got.correct == want.correct)
}

@Test(arguments: [AdapterType.lora, .sira])
func aSavedAdapterReattachedFromDiskScoresExactlyTheSame(type: AdapterType) throws {
    let dir = try scratchFolder("adapter")
    defer { try? FileManager.default.removeItem(at: dir) }
    let batch = randomBatch(batch: 2, seq: 9, vocab: 37, seed: 71)
    let model = tinyModel(tied: false, seed: 61)
    let base = model.loss(batch)
    let set = try AdapterSet(config: AdapterConfig(type: type, r: 3, loraAlpha: 6, numExperts: 4, topK: 2), seed: 5)
    set.attach(to: model)
    var rng = Xoshiro256(seed: 1)
    for p in set.parameters { for i in 0..<p.value.count { p.value[i] = Float(rng.nextNormal()) * 0.3 } }
    let adapted = model.loss(batch)
    #expect(abs(adapted.nllSum - base.nllSum) > 1e-3)
    let file = dir.appendingPathComponent("adapter.safetensors")
    try AdapterFiles.write(set, to: file)
    let fresh = tinyModel(tied: false, seed: 61)
    try AdapterFiles.attach(from: file, to: fresh)
    #expect(fresh.adapters.count == model.adapters.count)
    #expect(fresh.loss(batch).nllSum == adapted.nllSum)
    if type == .lora {
        try AdapterFiles.exportPEFT(set, to: dir.appendingPathComponent("peft"))
        let viaPEFT = tinyModel(tied: false, seed: 61)
        try AdapterFiles.attach(from: dir.appendingPathComponent("peft"), to: viaPEFT)
        #expect(viaPEFT.loss(batch).nllSum == adapted.nllSum)
    }
}
