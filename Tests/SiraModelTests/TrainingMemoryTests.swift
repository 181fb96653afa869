import Foundation
import Testing
@testable import SiraModel

/// `TrainingMemory` is computed from the configuration alone; it must count what the training
/// path really allocates: the base's parameters and every buffer of `LlamaActivations`, counted
/// here by walking the allocated objects (Mirror), on awkward shapes and each family's extras.
@Suite struct TrainingMemoryTests {
    static func floats(_ value: Any) -> Int {
        if let t = value as? Tensor { return t.count }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional { return mirror.children.first.map { floats($0.value) } ?? 0 }
        return mirror.children.reduce(0) { $0 + floats($1.value) }
    }

    @Test(arguments: [("llama", 1, 7), ("qwen2", 7, 33), ("qwen3", 3, 129), ("mistral", 1, 1)])
    func theEstimateCountsWhatTrainingAllocates(modelType: String, batch: Int, seq: Int) {
        let config = LlamaConfig(hiddenSize: 24, intermediateSize: 40, numHiddenLayers: 3, numAttentionHeads: 4,
                                 numKeyValueHeads: 2, headDim: 8, vocabSize: 37, tieWordEmbeddings: modelType != "qwen2",
                                 maxPositionEmbeddings: 256, modelType: modelType, attentionBias: modelType == "llama")
        let model = LlamaModel(config: config, seed: 1)
        let estimate = TrainingMemory(config: config, batch: batch, seq: seq)
        #expect(estimate.weightBytes == Double(4 * model.parameterCount))
        let activations = LlamaActivations(batch: batch, seq: seq, config: config)
        let logitsChunk = min(batch * seq, max(128, (4 << 20) / config.vocabSize)) * config.vocabSize
        #expect(estimate.activationBytes == Double(4 * (Self.floats(activations) + logitsChunk)))
    }

    @Test func anImpossibleShapeIsRefusedNamingTheKeyAndTheEstimate() throws {
        let smol = LlamaConfig(hiddenSize: 576, intermediateSize: 1536, numHiddenLayers: 30, numAttentionHeads: 9,
                               numKeyValueHeads: 3, vocabSize: 49152, tieWordEmbeddings: true)
        let huge = TrainingMemory(config: smol, batch: 4096, seq: 65536)
        #expect(throws: TrainingMemoryError.self) { try huge.check(key: "train", batch: 4096, seq: 65536, available: 24e9) }
        do { try huge.check(key: "train", batch: 4096, seq: 65536, available: 24e9) } catch {
            #expect("\(error)".hasPrefix("train: batch 4096 × seq_len 65536 needs about ") && "\(error)".contains("GiB"), "\(error)")
        }
        try TrainingMemory(config: smol, batch: 4, seq: 256).check(key: "train", batch: 4, seq: 256, available: 24e9)
    }
}
