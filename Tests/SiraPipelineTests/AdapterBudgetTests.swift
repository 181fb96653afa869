import Foundation
import SiraModel
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// Parameter budgets of the comparison and per-layer router statistics.
@Suite struct AdapterBudgetTests {
    /// hidden 24, 3 query heads of 8, 1 KV head (k/v project 24 → 8), intermediate 40, 3 layers.
    static let shape = LlamaConfig(hiddenSize: 24, intermediateSize: 40, numHiddenLayers: 3, numAttentionHeads: 3,
                                   numKeyValueHeads: 1, vocabSize: 37, tieWordEmbeddings: true, maxPositionEmbeddings: 32)

    @Test func parameterCountsMatchTheAdaptersActuallyBuilt() throws {
        let targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        for config in [AdapterConfig(type: .lora, r: 7, targetModules: targets),
                       AdapterConfig(type: .molora, r: 3, targetModules: ["v_proj", "down_proj"], numExperts: 5),
                       AdapterConfig(type: .sira, r: 2, targetModules: targets, numExperts: 6, topK: 2),
                       AdapterConfig(type: .sira, r: 2, targetModules: ["q_proj", "up_proj"], numExperts: 3, topK: 2, layersToTransform: [0, 2])] {
            let model = LlamaModel(config: Self.shape, seed: 1)
            let set = try AdapterSet(config: config, seed: 0)
            set.attach(to: model)
            let built = set.parameters.reduce(0) { $0 + $1.value.count }
            #expect(AdapterParameterCount.count(config, model: Self.shape) == built, "\(config.type)")
        }
        // By hand: SiRA r=4, E=8 on q (24→24) and down (40→24), 3 layers:
        // q: 8·(4·48 + 24) = 1728; down: 8·(4·64 + 40) = 2368; (1728 + 2368)·3 = 12288.
        let sira = AdapterConfig(type: .sira, r: 4, targetModules: ["q_proj", "down_proj"], numExperts: 8, topK: 2)
        #expect(AdapterParameterCount.count(sira, model: Self.shape) == 12288)
        // LoRA on the same modules costs (48 + 64)·3 = 336 per rank: 12288 / 336 = 36.57 → 37
        // (37·336 = 12432 is 144 over; 36·336 = 12096 is 192 under).
        #expect(AdapterParameterCount.loraRank(matching: 12288, targetModules: ["q_proj", "down_proj"], model: Self.shape) == 37)
        #expect(AdapterParameterCount.loraRank(matching: 10, targetModules: ["q_proj"], model: Self.shape) == 1)
        // On layers [1, 2] only: (1728 + 2368)·2 = 8192, and LoRA costs 112·2 = 224 per rank:
        // 8192 / 224 = 36.57 → 37 again.
        let upper = AdapterConfig(type: .sira, r: 4, targetModules: ["q_proj", "down_proj"], numExperts: 8, topK: 2, layersToTransform: [1, 2])
        #expect(AdapterParameterCount.count(upper, model: Self.shape) == 8192)
        #expect(AdapterParameterCount.loraRank(matching: 8192, targetModules: ["q_proj", "down_proj"], layers: [1, 2], model: Self.shape) == 37)
    }

    @Test func layerStatisticsMergeEachLayersProjectionsAndCountDrops() throws {
        let model = LlamaModel(config: Self.shape, seed: 2)
        model.setTrainable(false)
        model.threads = 1
        let config = AdapterConfig(type: .sira, r: 2, targetModules: ["q_proj", "down_proj"], numExperts: 4, topK: 2, capacityFactor: 0.5)
        let set = try AdapterSet(config: config, seed: 3)
        set.attach(to: model)
        let tokens = 13
        let batch = TokenBatch(sequence: (0 ... tokens).map { ($0 * 7) % 37 })
        var stats = LayerRouterStatistics()
        stats.add(model)
        #expect(stats.isEmpty)  // nothing ran yet
        for step in 0 ..< 2 {
            _ = model.loss(batch, mode: .training(seed: UInt64(step)))
            stats.add(model)
        }
        #expect(stats.layers.keys.sorted() == [0, 1, 2])
        for l in 0 ..< 3 {
            let s = try #require(stats.layers[l])
            // 2 steps × 2 projections; every token routed to k = 2 experts.
            #expect(s.calls == 4 && s.tokens == 4 * tokens && s.assignments == 4 * tokens * 2)
            // Capacity ceil(0.5 · 2 · 13 / 4) = 4 per expert and call: at most 16 of 26 granted.
            #expect(s.granted.reduce(0, +) <= 4 * 16)
            #expect(s.dropped == s.assignments - s.granted.reduce(0, +))
            let m = stats.metrics
            let load = (0 ..< 4).map { m[RouterMetricKey.layerLoad(l, expert: $0)]! }
            #expect(abs(load.reduce(0, +) - 1) < 1e-12)
            #expect(m[RouterMetricKey.layerDropped(l)]! >= 10.0 / 26.0 - 1e-12)
            #expect(m[RouterMetricKey.layerEntropy(l)]! > 0 && m[RouterMetricKey.layerEntropy(l)]! <= log(4.0) + 1e-9)
        }
    }
}
