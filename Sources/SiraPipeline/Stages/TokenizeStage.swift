import Foundation
import SiraData

/// `tokenize@task`: the task's train and eval splits encoded with the shared tokenizer
/// (`ExampleEncoder`: `[bos] prompt completion [eos]`, completion and end scored) into token
/// shards, read by training and by pretraining of the base.
struct TokenizeStage: PipelineStage {
    let task: String

    var id: StageID { StageID(.tokenize, task: task) }
    var dependencies: [StageID] { [StageID(.ingest, task: task), StageID(.tokenizer)] }

    func parameters() throws -> String { try CacheKey.canonicalJSON(["task": task, "layout": "bos-prompt-completion-eos"]) }

    func run(_ context: StageContext) throws -> StageResult {
        let tokenizer = try TokenizerFiles.load(try context.input(StageID(.tokenizer)))
        let encoder = ExampleEncoder(tokenizer: tokenizer)
        let (_, snapshot) = try SnapshotReference.load(try context.input(StageID(.ingest, task: task)), workspace: context.workspace)
        var metrics: [String: Double] = [:]
        for split in TokenShards.Split.allCases {
            try context.checkCancelled()
            let examples = try snapshot.examples(split == .train ? .train : .eval).map(encoder.encode)
            try TokenShards.write(examples, to: context.outputFolder.appendingPathComponent(TokenShards.fileName(split)))
            let tokens = examples.reduce(0) { $0 + $1.tokens.count }
            metrics["tokens.\(split.rawValue)"] = Double(tokens)
            metrics["tokens.\(split.rawValue)_max_length"] = Double(examples.map(\.tokens.count).max() ?? 0)
            context.log("\(split.rawValue): \(examples.count) examples, \(tokens) tokens")
        }
        return StageResult(metrics: metrics)
    }
}
