import Foundation
import SiraPipeline
import SiraData
import SiraIO

/// `tokenizer`: the pipeline's one byte-level BPE tokenizer, shared by every task, written as
/// `tokenizer.json` (Hugging Face format). Trained (SiraData's `BPETokenizer.train`) on the
/// prompts and completions of the corpus tasks' train splits, or loaded from a file given in
/// the manifest (checked by loading it) with the model's special-token rules from the files beside
/// it (`ModelTokenizerFiles`), saved as `special_tokens.json` for the stages that encode and generate.
struct TokenizerStage: PipelineStage {
    let spec: TokenizerSpec

    var id: StageID { StageID(.tokenizer) }
    var dependencies: [StageID] {
        if case let .train(_, corpus) = spec { return corpus.map { StageID(.ingest, task: $0) } }
        return []
    }

    func parameters() throws -> String {
        switch spec {
        case let .train(vocab, corpus): return try CacheKey.canonicalJSON(TrainParameters(vocabSize: vocab, corpus: corpus))
        case let .load(path): return try CacheKey.canonicalJSON(["path": path])
        case let .gguf(path): return try CacheKey.canonicalJSON(["gguf": path])
        }
    }

    struct TrainParameters: Codable {
        var vocabSize: Int
        var corpus: [String]
    }

    func externalInputs(_ workspace: Workspace) throws -> [String: String] {
        if case let .gguf(path) = spec { return ["gguf": try GGUFBase.hash(path, workspace)] }
        guard case let .load(path) = spec else { return [:] }
        let url = workspace.resolve(path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw StageFailure("tokenizer.path: \(path) does not exist")
        }
        var inputs = ["file:tokenizer.json": try ContentHash.sha256(file: url)]
        // The model's special-token rules (ModelTokenizerFiles) and chat template live beside tokenizer.json.
        for name in Set(ModelTokenizerFiles.ruleFiles + TokenizerFiles.templateFiles).sorted() {
            let sibling = url.deletingLastPathComponent().appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: sibling.path) { inputs["file:\(name)"] = try ContentHash.sha256(file: sibling) }
        }
        return inputs
    }

    func run(_ context: StageContext) throws -> StageResult {
        let out = context.outputFolder.appendingPathComponent(TokenizerFiles.fileName)
        let tokenizer: BPETokenizer
        switch spec {
        case let .gguf(path):
            // The model's own vocabulary as tokenizer.json, its special-token rules beside it, and
            // its chat template with the token strings it renders as an HF tokenizer_config.json.
            let file = try GGUFBase.open(path, context.workspace)
            tokenizer = try BPETokenizer(gguf: file)
            try tokenizer.save(to: out)
            try TokenizerFiles.saveRules(tokenizer.rules, to: context.outputFolder)
            try TokenizerFiles.saveTemplateConfig(of: tokenizer, template: file["tokenizer.chat_template"]?.string, to: context.outputFolder)
            context.log(TokenizerFiles.describe(tokenizer))
            if let template = try TokenizerFiles.chatTemplate(context.outputFolder) {
                context.log("chat template: \(template.template.name)")
            }
        case let .load(path):
            let url = context.workspace.resolve(path)
            tokenizer = try BPETokenizer.load(modelFolder: url.deletingLastPathComponent(), tokenizerFile: url)
            try FileManager.default.copyItem(at: url, to: out)
            try TokenizerFiles.saveRules(tokenizer.rules, to: context.outputFolder)
            context.log(TokenizerFiles.describe(tokenizer))
            // The model's chat template lives next to its tokenizer.json; keep it with the tokenizer.
            for name in TokenizerFiles.templateFiles {
                let companion = url.deletingLastPathComponent().appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: companion.path) {
                    try FileManager.default.copyItem(at: companion, to: context.outputFolder.appendingPathComponent(name))
                }
            }
            if let template = try TokenizerFiles.chatTemplate(context.outputFolder) {
                context.log("chat template: \(template.template.name)")
            }
        case let .train(vocab, corpus):
            var texts: [String] = []
            for task in corpus {
                let (_, snapshot) = try SnapshotReference.load(try context.input(StageID(.ingest, task: task)), workspace: context.workspace)
                try snapshot.forEachExample(.train) { e in
                    if !e.prompt.isEmpty { texts.append(e.prompt) }
                    texts.append(e.completion)
                }
            }
            try context.checkCancelled()
            tokenizer = BPETokenizer.train(texts: texts, vocabSize: vocab, threads: context.threads)
            try tokenizer.save(to: out)
            context.log("trained on \(texts.count) texts from \(corpus.joined(separator: ", ")): \(tokenizer.vocabSize) tokens")
        }
        guard tokenizer.eosID >= 0 else {
            throw StageFailure("the tokenizer has no end token (tokenizer_config.json eos_token, generation_config.json eos_token_id); the pipeline needs one to end completions")
        }
        return StageResult(metrics: ["tokenizer.vocab_size": Double(tokenizer.vocabSize)], info: ["sha256": tokenizer.contentHash])
    }
}
