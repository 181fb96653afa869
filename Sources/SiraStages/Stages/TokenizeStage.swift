import Foundation
import SiraPipeline
import SiraData

/// `tokenize@task`: the task's train and eval splits encoded with the shared tokenizer into
/// SiraData token shards (`train/`, `eval/`: `[bos] prompt completion [eos]`, completion and end
/// scored), read by training, pretraining of the base and evaluation.
struct TokenizeStage: PipelineStage {
    let task: String
    /// The task's `template:` (nil: chat when the tokenizer came with a chat template).
    var template: TemplateMode? = nil
    /// The task's `system:` prompt for templated prompt/completion examples.
    var system: String? = nil

    var id: StageID { StageID(.tokenize, task: task) }
    var dependencies: [StageID] { [StageID(.ingest, task: task), StageID(.tokenizer)] }

    /// The template text itself reaches the key through the tokenizer stage (its files are inputs).
    func parameters() throws -> String {
        var key = ["task": task, "format": TokenShardInfo.formatName, "template": template?.rawValue ?? "default"]
        if let system { key["system"] = system }
        return try CacheKey.canonicalJSON(key)
    }

    func run(_ context: StageContext) throws -> StageResult {
        let tokenizer = try TokenizerFiles.load(try context.input(StageID(.tokenizer)))
        let (_, snapshot) = try SnapshotReference.load(try context.input(StageID(.ingest, task: task)), workspace: context.workspace)
        let chat = try resolveTemplate(try context.input(StageID(.tokenizer)).folder, tokenizer: tokenizer)
        if let chat { context.log("examples rendered with the model's chat template \(chat.template.name)") }
        var metrics: [String: Double] = [:]
        for split in [Snapshot.Split.train, .eval] {
            try context.checkCancelled()
            let info = try TokenShardWriter.write(snapshot: snapshot, split: split, tokenizer: tokenizer,
                                                  to: context.outputFolder.appendingPathComponent(split.rawValue),
                                                  transform: chat.map { t in templated(t, tokenizer: tokenizer, split: split) })
            metrics["tokens.\(split.rawValue)"] = Double(info.tokens)
            metrics["tokens.\(split.rawValue)_scored"] = Double(info.scoredTokens)
            context.log("\(split.rawValue): \(info.examples) examples, \(info.tokens) tokens (\(info.scoredTokens) scored)")
        }
        return StageResult(metrics: metrics)
    }

    /// The template examples go through: the tokenizer's chat template unless the task says
    /// `template: plain`; `template: chat` without one is an error.
    func resolveTemplate(_ tokenizerFolder: URL, tokenizer: BPETokenizer) throws -> ModelChatTemplate? {
        if template == .plain { return nil }
        let found = try TokenizerFiles.chatTemplate(tokenizerFolder)
        if template == .chat, found == nil {
            throw StageFailure("task \(task): template: chat, but the tokenizer has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja)")
        }
        return found
    }

    /// Renders one example through `template`; a refusal names the task, split and example.
    func templated(_ template: ModelChatTemplate, tokenizer: BPETokenizer, split: Snapshot.Split) -> (Example) throws -> Example {
        let bos = tokenizer.startTokenText
        var index = 0
        return { example in
            defer { index += 1 }
            do { return try template.apply(to: example, system: system, bosText: bos) } catch {
                throw StageFailure("task \(task), \(split.rawValue) example \(index): \(error)")
            }
        }
    }
}
