import SiraIO
import Foundation
import Testing
@testable import SiraModel

@Suite struct AdapterFilesTests {
    static let sira = AdapterConfig(type: .sira, r: 3, loraAlpha: 6, targetModules: ["q_proj", "down_proj"], numExperts: 5, topK: 2)

    func makeSet(_ config: AdapterConfig, seed: UInt64) throws -> AdapterSet {
        let set = try AdapterSet(config: config, seed: seed)
        for layer in 0..<2 {
            for module in config.targetModules {
                _ = set.make(layer: layer, module: module, inFeatures: module == "down_proj" ? 33 : 16, outFeatures: 16)
            }
        }
        var rng = Xoshiro256(seed: seed)
        for p in set.parameters where p.name.contains("lora_B") { fillRandom(p.value, scale: 0.3, rng: &rng) }
        return set
    }

    @Test func weightsRoundTripWithTheirConfig() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("adapter.safetensors")
        let saved = try makeSet(Self.sira, seed: 1)
        try AdapterFiles.write(saved, to: url)
        #expect(try AdapterFiles.config(of: url) == Self.sira)
        let loaded = try makeSet(try AdapterFiles.config(of: url), seed: 2)
        try AdapterFiles.load(into: loaded, from: url)
        let same = zip(saved.parameters, loaded.parameters).allSatisfy { $0.name == $1.name && $0.value.array == $1.value.array }
        #expect(same)
        #expect(saved.parameters.map(\.name).contains("base_model.model.model.layers.1.mlp.down_proj.sira.experts.4.lora_B.weight"))
    }

    @Test func loadingTheWrongAdapterNamesTheTensor() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("adapter.safetensors")
        try AdapterFiles.write(try makeSet(Self.sira, seed: 1), to: url)
        var other = Self.sira
        other.r = 4
        let wrongRank = try makeSet(other, seed: 1)
        let before = wrongRank.parameters.map(\.value.array)
        #expect { try AdapterFiles.load(into: wrongRank, from: url) } throws: { "\($0)".contains("shape") && "\($0)".contains(url.path) }
        #expect(wrongRank.parameters.map(\.value.array) == before, "nothing changes on failure")
        let lora = try makeSet(AdapterConfig(type: .lora, r: 3, loraAlpha: 6, targetModules: ["q_proj", "down_proj"]), seed: 1)
        #expect { try AdapterFiles.load(into: lora, from: url) } throws: { "\($0)".contains("lora_A.weight") }
        #expect(throws: AdapterConfigError.self) { try AdapterFiles.exportPEFT(try makeSet(Self.sira, seed: 1), to: folder.appendingPathComponent("peft")) }
    }

    /// The exported folder, read with numpy + safetensors the way PEFT applies a LoRA
    /// (`y += (alpha / r) · x Aᵀ Bᵀ` per target module), reproduces the adapter's output.
    @Test func peftExportIsWhatPEFTReads() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = AdapterConfig(type: .lora, r: 3, loraAlpha: 7, targetModules: ["q_proj", "down_proj"])
        let set = try makeSet(config, seed: 3)
        let out = folder.appendingPathComponent("peft")
        try AdapterFiles.exportPEFT(set, to: out, baseModel: "HuggingFaceTB/SmolLM2-135M")
        let adapter = set.adapters.first { $0.prefix.hasSuffix("layers.1.mlp.down_proj") }!.adapter
        var rng = Xoshiro256(seed: 4)
        let probe = AdapterProbe(adapter: adapter, tokens: 5, mode: .evaluation, rng: &rng)
        let y = probe.forward().y
        let script = """
        import sys, json, numpy as np
        from safetensors.numpy import load_file
        folder, x = sys.argv[1], np.array(json.loads(sys.argv[2]), dtype=np.float64).reshape(5, 33)
        cfg = json.load(open(folder + "/adapter_config.json"))
        w = load_file(folder + "/adapter_model.safetensors")
        p = "base_model.model.model.layers.1.mlp.down_proj"
        A, B = w[p + ".lora_A.weight"].astype(np.float64), w[p + ".lora_B.weight"].astype(np.float64)
        y = (cfg["lora_alpha"] / cfg["r"]) * x @ A.T @ B.T
        print(json.dumps({"y": y.ravel().tolist(), "peft_type": cfg["peft_type"], "keys": sorted(w.keys()),
                          "target_modules": cfg["target_modules"], "task_type": cfg["task_type"], "bias": cfg["bias"]}))
        """
        let xJSON = "[" + probe.x.map { "\($0)" }.joined(separator: ",") + "]"
        let result = try #require(try JSONSerialization.jsonObject(with: Data(try runPython(script, arguments: [out.path, xJSON]).utf8)) as? [String: Any])
        let reference = try #require(result["y"] as? [Double])
        #expect(reference.count == y.count)
        for i in y.indices { #expect(abs(Double(y[i]) - reference[i]) < 1e-5) }
        #expect(result["peft_type"] as? String == "LORA" && result["task_type"] as? String == "CAUSAL_LM" && result["bias"] as? String == "none")
        #expect(result["target_modules"] as? [String] == ["q_proj", "down_proj"])
        #expect(result["keys"] as? [String] == set.parameters.map(\.name).sorted())
    }
}

@Suite struct AdapterAttachTests {
    static let llama = LlamaConfig(hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 2,
                                   numKeyValueHeads: 1, vocabSize: 29, maxPositionEmbeddings: 32)

    func logits(_ model: LlamaModel) -> [Float] {
        model.logits(tokens: [1, 5, 9, 2, 7, 3], batch: 1, seq: 6).array
    }

    @Test(arguments: [AdapterType.lora, .sira])
    func savedAdapterReattachesWithIdenticalLogits(_ type: AdapterType) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = LlamaModel(config: Self.llama, seed: 1)
        model.setTrainable(false)
        let set = try AdapterSet(config: AdapterConfig(type: type, r: 2, loraAlpha: 4, numExperts: 3, topK: 2), seed: 5)
        set.attach(to: model)
        var rng = Xoshiro256(seed: 6)
        for p in set.parameters where p.name.contains("lora_B") { fillRandom(p.value, scale: 0.5, rng: &rng) }
        let expected = logits(model)
        let url = type == .lora ? folder.appendingPathComponent("peft") : folder.appendingPathComponent("a.safetensors")
        if type == .lora { try AdapterFiles.exportPEFT(set, to: url) } else { try AdapterFiles.write(set, to: url) }

        let other = LlamaModel(config: Self.llama, seed: 1)
        other.setTrainable(false)
        let plain = logits(other)
        let loaded = try AdapterFiles.attach(from: url, to: other)
        if type == .lora {
            // PEFT's config carries only what a LoRA needs.
            #expect(loaded.config.type == .lora && loaded.config.r == 2 && loaded.config.loraAlpha == 4
                    && loaded.config.targetModules == set.config.targetModules)
        } else {
            #expect(loaded.config == set.config)
        }
        #expect(logits(other) == expected)
        #expect(plain != expected, "the adapter changes the logits")
    }

    @Test func aMismatchedAdapterLeavesThePlainModel() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("a.safetensors")
        let set = try AdapterSet(config: AdapterConfig(type: .lora, r: 2), seed: 1)
        _ = set.make(layer: 0, module: "q_proj", inFeatures: 16, outFeatures: 16)
        try AdapterFiles.write(set, to: url)
        let model = LlamaModel(config: Self.llama, seed: 1)
        #expect { try AdapterFiles.attach(from: url, to: model) } throws: { "\($0)".contains(url.path) }
        #expect(model.adapters.isEmpty)
    }
}
