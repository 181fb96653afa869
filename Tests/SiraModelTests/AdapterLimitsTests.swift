import Foundation
import Testing
@testable import SiraModel

/// Issue 16, item 3: an adapter config that cannot fit its base is refused, naming the key, before
/// any adapter tensor is allocated (it aborted with "failed to allocate 512000000000 bytes").
@Suite struct AdapterLimitsTests {
    static let base = LlamaConfig(hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 2,
                                  numKeyValueHeads: 1, vocabSize: 64)

    @Test func ranksExpertsAndSizeAreBoundedByTheBase() throws {
        // v_proj is [16 → 8] here (one KV head of 8): the largest meaningful rank is 8.
        try AdapterLimits.check(AdapterConfig(type: .lora, r: 8, targetModules: ["q_proj", "v_proj"]), fits: Self.base)
        #expect(throws: AdapterConfigError.invalid(key: "r", reason: "9 exceeds the rank of the smallest targeted projection of the base (8)")) {
            try AdapterLimits.check(AdapterConfig(type: .lora, r: 9, targetModules: ["q_proj", "v_proj"]), fits: Self.base)
        }
        #expect { try AdapterLimits.check(AdapterConfig(type: .sira, r: 2, numExperts: 100_000, topK: 2), fits: Self.base) }
            throws: { "\($0)".contains("'num_experts'") }
        // 1024 experts of rank 8 on every projection: far more than 4× this base's parameters.
        #expect { try AdapterLimits.check(AdapterConfig(type: .sira, r: 8, targetModules: AdapterNaming.knownModules, numExperts: 1024, topK: 2), fits: Self.base) }
            throws: { "\($0)".contains("'r'") && "\($0)".contains("over 4×") }
    }

    /// Through the loader: a PEFT folder whose config says r = 10⁹ fails with the key, and the
    /// model keeps no adapter.
    @Test func aHugeRankInAdapterConfigIsAnErrorNotAnAllocation() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"peft_type": "LORA", "r": 1000000000, "lora_alpha": 16, "target_modules": ["q_proj"]}"#.utf8)
            .write(to: folder.appendingPathComponent("adapter_config.json"))
        try SafetensorsWriter.write([], to: folder.appendingPathComponent("adapter_model.safetensors"))
        let model = LlamaModel(config: Self.base, seed: 1)
        #expect { try AdapterFiles.attach(from: folder, to: model) } throws: { "\($0)".contains("'r'") && "\($0)".contains("1000000000") }
        #expect(model.adapters.isEmpty)
    }
}
