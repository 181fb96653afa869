import Foundation
import SiraPipeline
import SiraData
import SiraIO
import SiraModel
import SiraStore

/// `base`: the frozen model adapters are trained on, as an HF folder (`config.json` +
/// `model.safetensors`) or a GGUF file (`model.gguf`). Built in: a small Llama initialised from the
/// seed and pretrained on the corpus tasks' train splits. Imported: an HF model folder or a GGUF
/// file, loaded (which checks every tensor) and then hard-linked (or copied) into the output as
/// it is: every file byte-identical, never re-serialised. The output records the base's identity (`BaseIdentity`: tensors + normalised
/// config) as `info["identity"]`, the name packages give it.
struct BaseStage: PipelineStage {
    let base: BaseSpec
    let corpus: [String]

    var id: StageID { StageID(.base) }
    var dependencies: [StageID] {
        [StageID(.tokenizer)] + corpus.map { StageID(.tokenize, task: $0) }
    }

    func parameters() throws -> String {
        switch base {
        // `pretrain_scores: all`: pretraining scores prompt tokens too (bases built before it
        // scored completions only, so their keys must differ).
        case let .builtin(b):
            struct Key: Encodable { var builtin: BuiltinBase, pretrain_scores = "all" }
            return try CacheKey.canonicalJSON(Key(builtin: b))
        // `layout: as-given`: the folder is linked as it is (outputs before it were re-serialised).
        case let .hf(path): return try CacheKey.canonicalJSON(["hf": path, "layout": "as-given"])
        case let .gguf(path): return try CacheKey.canonicalJSON(["gguf": path])
        }
    }

    func externalInputs(_ workspace: Workspace) throws -> [String: String] {
        if case let .gguf(path) = base { return ["gguf": try GGUFBase.hash(path, workspace)] }
        guard case let .hf(path) = base else { return [:] }
        let folder = workspace.resolve(path)
        var inputs: [String: String] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names.sorted() where name == "config.json" || name.hasSuffix(".safetensors") || name == "model.safetensors.index.json" {
            inputs["hf:\(name)"] = try ContentHash.sha256(file: folder.appendingPathComponent(name))
        }
        guard inputs["hf:config.json"] != nil else {
            throw StageFailure("base.hf: \(workspace.relative(folder)) has no config.json (expected an HF model folder)")
        }
        return inputs
    }

    func run(_ context: StageContext) throws -> StageResult {
        let tokenizer = try TokenizerFiles.load(try context.input(StageID(.tokenizer)))
        switch base {
        case let .hf(path):
            let folder = context.workspace.resolve(path)
            let model = try LlamaModel.load(huggingFaceFolder: folder)
            try Self.checkVocabulary(model, tokenizer, key: "base.hf")
            let identity = try BaseIdentity.digest(model: model)
            let linked = try Self.linkFolder(folder, into: context.outputFolder)
            context.log("\(path): \(linked) files linked as they are; identity \(identity.prefix(16))…")
            return StageResult(metrics: ["base.parameters": Double(model.parameterCount)], info: ["source": path, "identity": identity])
        case let .gguf(path):
            let file = try GGUFBase.existing(path, context.workspace)
            let started = Date()
            let model: LlamaModel
            do { model = try LlamaModel.load(gguf: file) } catch {
                throw StageFailure("base.gguf: \(error)\(GGUFBase.fetchHint(path))")
            }
            try Self.checkVocabulary(model, tokenizer, key: "base.gguf")
            let identity = try BaseIdentity.digest(model: model)
            try HardLink.linkOrCopy(file.resolvingSymlinksInPath(), to: context.outputFolder.appendingPathComponent(ModelFiles.ggufName))
            let c = model.config
            context.log("\(path): \(c.modelType), \(c.numHiddenLayers) layers, hidden \(c.hiddenSize), \(c.numAttentionHeads) heads (\(c.numKeyValueHeads) kv), vocab \(c.vocabSize); loaded in \(String(format: "%.2f", Date().timeIntervalSince(started))) s; linked as \(ModelFiles.ggufName); identity \(identity.prefix(16))…")
            return StageResult(metrics: ["base.parameters": Double(model.parameterCount)], info: ["source": path, "identity": identity])
        case let .builtin(b):
            let config = LlamaConfig(
                hiddenSize: b.hidden, intermediateSize: b.intermediate, numHiddenLayers: b.layers,
                numAttentionHeads: b.heads, numKeyValueHeads: b.kvHeads, vocabSize: tokenizer.vocabSize,
                tieWordEmbeddings: true, maxPositionEmbeddings: max(2048, b.seqLen),
                bosTokenId: tokenizer.bosID, eosTokenIds: [tokenizer.eosID]
            )
            let model = LlamaModel(config: config, seed: UInt64(b.seed))
            model.threads = context.threads
            var metrics: [String: Double] = ["base.parameters": Double(model.parameterCount)]
            if b.pretrainSteps > 0 {
                do { try TrainingMemory(config: config, batch: b.batch, seq: b.seqLen).check(key: "base.builtin", batch: b.batch, seq: b.seqLen) } catch {
                    throw StageFailure("\(error)")
                }
                let shards = try corpus.map { try TokenizerFiles.shard(try context.input(StageID(.tokenize, task: $0)), .train) }
                let source = try ShardMixtureSource(shards: shards, batch: b.batch, seq: b.seqLen, seed: UInt64(b.seed),
                                                    padID: Int32(tokenizer.padID), packing: .continuous,
                                                    scoreEveryToken: true)
                let trainer = try Trainer(
                    model: model, source: source,
                    config: TrainingLoop.trainerConfig(steps: b.pretrainSteps, lr: b.lr, warmup: min(b.pretrainSteps / 10, 100),
                                                       schedule: .cosine, weightDecay: 0.01, gradClip: 1, seed: b.seed),
                    stateURL: context.workFolder.appendingPathComponent("pretrain.state")
                )
                let outcome = try TrainingLoop(context: context, saveEvery: max(1, b.pretrainSteps / 10), prefix: "pretrain",
                                           tokensPerStep: b.batch * b.seqLen).run(trainer)
                metrics["pretrain.loss"] = outcome.finalLoss
                metrics["pretrain.tokens_per_second"] = outcome.tokensPerSecond
                context.log(String(format: "pretrained %d steps: loss %.4f, %.0f tokens/s", b.pretrainSteps, outcome.finalLoss, outcome.tokensPerSecond))
            }
            model.releaseActivations()
            try model.saveHuggingFace(to: context.outputFolder, metadata: ["sira.corpus": corpus.joined(separator: ",")])
            return StageResult(metrics: metrics, info: ["identity": try BaseIdentity.digest(model: model)])
        }
    }

    /// The base's configuration as packages record it: an HF folder's config.json as it is, a
    /// GGUF base's metadata as the engine reads it (config.json keys); nil if neither reads.
    static func configJSON(_ output: StageOutput) -> SiraStore.JSONValue? {
        let decoder = JSONDecoder()
        if let data = try? Data(contentsOf: output.url("config.json")) { return try? decoder.decode(SiraStore.JSONValue.self, from: data) }
        guard let config = try? LlamaConfig.load(model: output.folder), let data = try? JSONEncoder().encode(config) else { return nil }
        return try? decoder.decode(SiraStore.JSONValue.self, from: data)
    }

    static func checkVocabulary(_ model: LlamaModel, _ tokenizer: BPETokenizer, key: String) throws {
        guard model.config.vocabSize >= tokenizer.vocabSize else {
            throw StageFailure("\(key): the model's vocab_size \(model.config.vocabSize) is smaller than the tokenizer's \(tokenizer.vocabSize)")
        }
    }

    /// Hard-links (or copies) every file of `source` below `destination`, keeping the layout;
    /// a symbolic link (an HF hub cache snapshot) is followed to its file. Hidden entries (`.git`,
    /// `.cache`) are not part of a model and are left out. Returns the number of files.
    static func linkFolder(_ source: URL, into destination: URL) throws -> Int {
        let fm = FileManager.default
        var count = 0
        for name in try fm.contentsOfDirectory(atPath: source.path).sorted() where !name.hasPrefix(".") {
            let item = source.appendingPathComponent(name).resolvingSymlinksInPath()
            let target = destination.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: item.path, isDirectory: &isDir) else {
                throw StageFailure("base.hf: \(source.appendingPathComponent(name).path) is a broken link")
            }
            if isDir.boolValue {
                try fm.createDirectory(at: target, withIntermediateDirectories: true)
                count += try linkFolder(item, into: target)
            } else {
                try HardLink.linkOrCopy(item, to: target)
                count += 1
            }
        }
        return count
    }
}
