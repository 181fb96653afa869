import SiraIO
import Foundation
import Testing
@testable import SiraModel

/// Random token batches keyed by (seed, batch index): the cursor is the index.
final class RandomTokenSource: BatchSource {
    struct Cursor: Codable, Equatable { var index: Int }
    let seed: UInt64, batch: Int, seq: Int, vocab: Int
    private(set) var index = 0

    init(seed: UInt64, batch: Int, seq: Int, vocab: Int) {
        self.seed = seed; self.batch = batch; self.seq = seq; self.vocab = vocab
    }

    func nextBatch() throws -> TokenBatch {
        var rng = Xoshiro256(seed: CounterHash.hash(seed, UInt64(index)))
        index += 1
        let stream = (0...(batch * seq)).map { _ in Int32(rng.next() % UInt64(vocab)) }
        // The second half of each row is scored (a prompt/completion shape).
        let mask = (0..<(batch * seq)).map { Float(($0 % seq) >= seq / 2 ? 1 : 0) }
        return TokenBatch(batch: batch, seq: seq, tokens: Array(stream.prefix(batch * seq)),
                          targets: Array(stream.dropFirst()), lossMask: mask)
    }

    var cursor: Cursor { Cursor(index: index) }
    func restore(_ cursor: Cursor) throws { index = cursor.index }
}

@Suite struct LlamaTrainingTests {
    static let llama = LlamaConfig(hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 2,
                                   numKeyValueHeads: 1, vocabSize: 37, maxPositionEmbeddings: 64)
    static let sira = AdapterConfig(type: .sira, r: 2, loraAlpha: 4, targetModules: ["q_proj", "v_proj", "down_proj"],
                                    numExperts: 4, topK: 2, capacityFactor: 1.0, expertDropout: 0.1, zLossWeight: 0.001)
    static let training = TrainerConfig(steps: 6, learningRate: 0.01, warmupSteps: 1, gradientAccumulation: 2,
                                        checkpointEvery: 2, seed: 9)

    func makeTrainer(url: URL? = nil) throws -> Trainer<LlamaModel, RandomTokenSource> {
        let model = LlamaModel(config: Self.llama, seed: 1)
        model.threads = 1
        model.setTrainable(false)
        let set = try AdapterSet(config: Self.sira, seed: 2)
        set.attach(to: model)
        var rng = Xoshiro256(seed: 3)
        for p in set.parameters where p.name.contains("lora_B") { fillRandom(p.value, scale: 0.05, rng: &rng) }
        return try Trainer(model: model, source: RandomTokenSource(seed: 4, batch: 2, seq: 7, vocab: 37),
                           config: Self.training, stateURL: url)
    }

    @Test func adapterTrainingOnLlamaResumesExactly() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try makeTrainer()
        #expect(reference.model.trainableParameters.count == 2 * 3 * (1 + 2 * 4), "only the adapters train")
        let reports = try reference.run()
        #expect(reports.allSatisfy { $0.router?.calls == 2 * 2 * 3 }, "2 micro-batches × 2 layers × 3 modules")
        #expect(reports.allSatisfy { $0.tokens == 2 * 2 * 4 && $0.auxiliaryLoss > 0 })

        let url = folder.appendingPathComponent("state.safetensors")
        try makeTrainer(url: url).run(until: 3)
        let resumed = try makeTrainer(url: url)
        #expect(try resumed.resumeIfSaved() && resumed.step == 3)
        try resumed.run()
        let a = reference.model.trainableParameters.map(\.value.array)
        let b = resumed.model.trainableParameters.map(\.value.array)
        #expect(a == b, "resumed adapter weights equal the uninterrupted run's")
        let fresh = LlamaModel(config: Self.llama, seed: 1)
        let base = zip(fresh.parameters, resumed.model.parameters).allSatisfy { $0.value.array == $1.value.array }
        #expect(base, "the frozen base is untouched")
    }
}
