import Foundation
import SiraIO
import SiraModel
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// Merging a LoRA into its base, PEFT export, and bundles: adapters read back from packages give
/// exactly the numbers the in-memory adapters gave.
@Suite struct MergeTests {
    /// 2 layers, hidden 24, 3 query heads sharing 1 KV head, vocab 37: awkward sizes throughout.
    func tinyModel() -> LlamaModel {
        let config = LlamaConfig(hiddenSize: 24, intermediateSize: 40, numHiddenLayers: 2, numAttentionHeads: 3,
                                 numKeyValueHeads: 1, vocabSize: 37, tieWordEmbeddings: true, maxPositionEmbeddings: 64)
        let model = LlamaModel(config: config, seed: 7)
        model.setTrainable(false)
        model.threads = 1
        return model
    }

    /// An adapter set attached to `model` with every weight random (B is zero at initialisation,
    /// which would make merging trivially right).
    @discardableResult
    func randomAdapter(_ config: AdapterConfig, on model: LlamaModel, seed: UInt64) throws -> AdapterSet {
        let set = try AdapterSet(config: config, seed: seed)
        set.attach(to: model)
        var rng = Xoshiro256(seed: seed &+ 99)
        for p in set.parameters {
            for i in 0 ..< p.value.count { p.value[i] = (rng.nextUnitFloat() * 2 - 1) * 0.3 }
        }
        return set
    }

    static let tokens: [Int32] = [1, 5, 9, 2, 36, 7, 7, 0, 13, 21, 3, 4, 30, 11]

    func logits(_ model: LlamaModel) -> [Float] {
        model.logits(tokens: Self.tokens, batch: 2, seq: 7).array
    }

    static let lora = AdapterConfig(type: .lora, r: 3, loraAlpha: 6, targetModules: ["q_proj", "v_proj", "up_proj", "down_proj"])
    static let sira = AdapterConfig(type: .sira, r: 2, loraAlpha: 4, targetModules: ["q_proj", "down_proj"], numExperts: 5, topK: 2,
                                    capacityFactor: 1.25, expertDropout: 0.1)

    /// Tolerance: the merged model computes (W + sBA)x where the adapted one computes Wx + sB(Ax);
    /// both in fp32, so they differ by rounding only: measured 9.3e-8 on logits up to 0.37 here.
    /// 1e-5 absolute (logits are below 1) leaves 100× margin and is 10 000× below the ~0.1 a wrong
    /// merge (a missing scale, a transposed product) makes.
    static let logitTolerance: Float = 1e-5

    @Test func mergedWeightsAreWPlusScaledBTimesAAndLogitsMatchTheAdaptedModel() throws {
        let model = tinyModel()
        let set = try randomAdapter(Self.lora, on: model, seed: 3)
        let adapted = logits(model)
        let q = model.layers[1].q
        let before = q.weight.value.array
        let lora = try #require(model.adapters.first { $0.layer == 1 && $0.module == "q_proj" }?.adapter as? LoRAAdapter)
        let (a, b) = (lora.a.value.array, lora.b.value.array)
        try LoRAMerge.fold(model)
        #expect(model.adapters.isEmpty)
        // Independent reference in Double: W'[o, i] = W[o, i] + (alpha / r) Σ_k B[o, k] A[k, i].
        let s = 6.0 / 3.0
        var worst = 0.0
        for o in 0 ..< q.outFeatures {
            for i in 0 ..< q.inFeatures {
                var d = 0.0
                for k in 0 ..< 3 { d += Double(b[o * 3 + k]) * Double(a[k * q.inFeatures + i]) }
                worst = max(worst, abs(Double(q.weight.value[o * q.inFeatures + i]) - (Double(before[o * q.inFeatures + i]) + s * d)))
            }
        }
        #expect(worst < 1e-6)
        let merged = logits(model)
        let diff = zip(adapted, merged).map { abs($0 - $1) }.max()!
        #expect(diff <= Self.logitTolerance, "max |Δlogit| = \(diff)")
        // The adapter really changes the model: the merge is not trivially the base.
        let base = tinyModel()
        let baseDiff = zip(logits(base), merged).map { abs($0 - $1) }.max()!
        #expect(baseDiff > 100 * Self.logitTolerance)
        _ = set
    }

    @Test func mixturesRefuseToMergeAndLeaveTheModelUntouched() throws {
        let model = tinyModel()
        try randomAdapter(Self.sira, on: model, seed: 4)
        let before = model.layers[0].q.weight.value.array
        #expect(throws: PackageUseError.self) { try LoRAMerge.fold(model) }
        #expect(model.layers[0].q.weight.value.array == before)
        #expect(model.adapters.count == 4)
    }

    /// A bundle of a LoRA (task `alpha`), a SiRA (task `beta`) and a multitask SiRA: each adapter
    /// read back from the package scores exactly (bit for bit) what it scored in memory, on a base
    /// loaded from disk; `--task` routing follows the bundle's table.
    @Test func bundleRoundTripReproducesMetricsExactlyAndRoutesTasks() throws {
        try withTemporaryFolder { folder in
            let baseFolder = folder.appendingPathComponent("base")
            try tinyModel().saveHuggingFace(to: baseFolder)
            let tokenizer = folder.appendingPathComponent("tokenizer.json")
            try AtomicFile.write("{\"model\": {\"type\": \"BPE\"}}", to: tokenizer)
            let batch = TokenBatch(sequence: Self.tokens.map(Int.init), scoredFrom: 3)

            var entries: [BundleWriter.Entry] = []
            var expected: [String: (Double, Int, [Float])] = [:]
            for (name, variant, tasks, config, seed) in [("alpha.lora", "lora", ["alpha"], Self.lora, UInt64(5)),
                                                         ("beta.sira", "sira", ["beta"], Self.sira, 6),
                                                         ("multitask", "multitask", ["alpha", "beta"], Self.sira, 7)] {
                let model = try LlamaModel.load(huggingFaceFolder: baseFolder)
                model.threads = 1
                let set = try randomAdapter(config, on: model, seed: seed)
                let r = model.loss(batch, mode: .evaluation)
                expected[name] = (r.nllSum, r.correct, logits(model))
                let weights = folder.appendingPathComponent("\(name).safetensors")
                try SiraModel.AdapterFiles.write(set, to: weights)
                entries.append(.init(name: name, variant: variant, tasks: tasks, config: config, weights: weights,
                                     metrics: ["eval.loss": r.nllSum / Double(r.tokens)]))
            }
            let identity = try BaseIdentity.digest(model: LlamaModel.load(huggingFaceFolder: baseFolder))
            let url = folder.appendingPathComponent("demo-bundle.sira")
            try BundleWriter.write(to: url, pipeline: "demo", runID: 3, base: .init(name: "tiny", sha256: identity), tokenizer: tokenizer,
                                   entries: entries, taskAdapters: ["alpha": "alpha.lora", "beta": "beta.sira"])
            #expect(try SiraPackage.verify(url).manifest.kind == .bundle)

            let opened = try OpenedPackage(url, scratch: folder)
            defer { opened.close() }
            #expect(try opened.adapterName(task: "alpha") == "alpha.lora")
            #expect(try opened.adapterName(task: "beta") == "beta.sira")
            #expect(try opened.adapterName(task: nil, name: "multitask") == "multitask")
            #expect(throws: PackageUseError.self) { try opened.adapterName(task: "gamma") }
            #expect(throws: PackageUseError.self) { try opened.adapterName(task: nil) }
            #expect(opened.tasks == ["alpha", "beta"])
            try BaseIdentity.check(folder: baseFolder, expected: opened.manifest.base.sha256, baseName: "tiny")

            for name in opened.adapterNames {
                let model = try LlamaModel.load(huggingFaceFolder: baseFolder)
                model.threads = 1
                try opened.attach(name, to: model)
                let r = model.loss(batch, mode: .evaluation)
                let (nll, correct, l) = expected[name]!
                #expect(r.nllSum == nll, "\(name): \(r.nllSum) vs \(nll)")
                #expect(r.correct == correct)
                #expect(logits(model) == l)
                #expect(opened.manifest.adapters[name]!.metrics["eval.loss"] == nll / Double(r.tokens))
            }
        }
    }

    @Test func mergedFolderAndPEFTExportLoadBackAndTheBaseIsCheckedByHash() throws {
        try withTemporaryFolder { folder in
            let baseFolder = folder.appendingPathComponent("base")
            try tinyModel().saveHuggingFace(to: baseFolder)
            let tokenizer = folder.appendingPathComponent("tokenizer.json")
            try AtomicFile.write("{}", to: tokenizer)

            let model = try LlamaModel.load(huggingFaceFolder: baseFolder)
            model.threads = 1
            let set = try randomAdapter(Self.lora, on: model, seed: 11)
            let adapted = logits(model)
            let weights = folder.appendingPathComponent("lora.safetensors")
            try SiraModel.AdapterFiles.write(set, to: weights)

            let mergedFolder = folder.appendingPathComponent("merged")
            try AdapterExport.writeMerged(model, tokenizer: tokenizer, to: mergedFolder)
            #expect(FileManager.default.fileExists(atPath: mergedFolder.appendingPathComponent("tokenizer.json").path))
            let reloaded = try LlamaModel.load(huggingFaceFolder: mergedFolder)
            reloaded.threads = 1
            let diff = zip(adapted, logits(reloaded)).map { abs($0 - $1) }.max()!
            #expect(diff <= Self.logitTolerance, "max |Δlogit| = \(diff)")

            let peft = folder.appendingPathComponent("peft")
            try AdapterExport.writePEFT(config: Self.lora, weights: weights, baseModel: "tiny", to: peft)
            let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: peft.appendingPathComponent("adapter_config.json"))) as? [String: Any])
            #expect(config["peft_type"] as? String == "LORA" && config["r"] as? Int == 3 && config["lora_alpha"] as? Double == 6)
            let file = try SafetensorsFile(peft.appendingPathComponent("adapter_model.safetensors"))
            #expect(Set(file.names) == Set(set.parameters.map(\.name)))
            for p in set.parameters { #expect(try file.tensor(p.name).array == p.value.array) }
            #expect(throws: PackageUseError.self) {
                try AdapterExport.writePEFT(config: Self.sira, weights: weights, baseModel: nil, to: folder.appendingPathComponent("nope"))
            }

            // Identity: the merged folder is a different model; the base folder matches itself.
            let identity = try BaseIdentity.digest(model: LlamaModel.load(huggingFaceFolder: baseFolder))
            #expect(throws: PackageUseError.self) { try BaseIdentity.check(folder: mergedFolder, expected: identity, baseName: "tiny") }
            #expect(throws: (any Error).self) { try BaseIdentity.check(folder: folder, expected: identity, baseName: "tiny") }
        }
    }

    /// Every family's merged export keeps its config fields (model_type, architectures, biases,
    /// head_dim) and tensor names (q/k/v biases, q_norm/k_norm), and reloads to the adapted logits.
    @Test(arguments: [("qwen2", false), ("qwen3", true), ("mistral", false), ("llama", true)])
    func mergedExportKeepsTheFamily(modelType: String, attentionBias: Bool) throws {
        try withTemporaryFolder { folder in
            let config = LlamaConfig(hiddenSize: 24, intermediateSize: 40, numHiddenLayers: 2, numAttentionHeads: 3,
                                     numKeyValueHeads: 1, headDim: 10, vocabSize: 37, tieWordEmbeddings: modelType != "qwen2",
                                     maxPositionEmbeddings: 64, modelType: modelType, attentionBias: attentionBias,
                                     slidingWindow: modelType == "mistral" ? 32 : nil)
            let base = LlamaModel(config: config, seed: 9)
            base.setTrainable(false)
            let baseFolder = folder.appendingPathComponent("base")
            try base.saveHuggingFace(to: baseFolder)
            let tokenizer = folder.appendingPathComponent("tokenizer.json")
            try AtomicFile.write("{}", to: tokenizer)
            let model = try LlamaModel.load(huggingFaceFolder: baseFolder)
            model.threads = 1
            try randomAdapter(AdapterConfig(type: .lora, r: 2, loraAlpha: 4, targetModules: LlamaModel.projectionModules),
                              on: model, seed: 5)
            let adapted = logits(model)
            let merged = folder.appendingPathComponent("merged")
            try AdapterExport.writeMerged(model, tokenizer: tokenizer, to: merged)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: merged.appendingPathComponent("config.json"))) as? [String: Any])
            #expect(json["model_type"] as? String == modelType)
            #expect(json["head_dim"] as? Int == 10)
            let names = Set(try SafetensorsFile(merged.appendingPathComponent("model.safetensors")).names)
            #expect(names == Set(base.parameters.map(\.name)))
            #expect(names.contains("model.layers.1.self_attn.q_proj.bias") == (modelType == "qwen2" || attentionBias && modelType != "mistral"))
            #expect(names.contains("model.layers.1.self_attn.k_norm.weight") == (modelType == "qwen3"))
            let reloaded = try LlamaModel.load(huggingFaceFolder: merged)
            reloaded.threads = 1
            #expect(reloaded.config == base.config)
            let diff = zip(adapted, logits(reloaded)).map { abs($0 - $1) }.max()!
            #expect(diff <= Self.logitTolerance, "max |Δlogit| = \(diff)")
            let baseDiff = zip(logits(base), adapted).map { abs($0 - $1) }.max()!
            #expect(baseDiff > 100 * Self.logitTolerance)
        }
    }
}
