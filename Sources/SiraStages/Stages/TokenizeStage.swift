import Foundation
import SiraPipeline
import SiraData

/// `tokenize@task`: the task's train and eval splits encoded with the shared tokenizer into
/// SiraData token shards (`train/`, `eval/`: `[bos] prompt completion [eos]`, completion and end
/// scored), read by training, pretraining of the base and evaluation.
struct TokenizeStage: PipelineStage {
    let task: String

    var id: StageID { StageID(.tokenize, task: task) }
    var dependencies: [StageID] { [StageID(.ingest, task: task), StageID(.tokenizer)] }

    func parameters() throws -> String { try CacheKey.canonicalJSON(["task": task, "format": TokenShardInfo.formatName]) }

    func run(_ context: StageContext) throws -> StageResult {
        let tokenizer = try TokenizerFiles.load(try context.input(StageID(.tokenizer)))
        let (_, snapshot) = try SnapshotReference.load(try context.input(StageID(.ingest, task: task)), workspace: context.workspace)
        var metrics: [String: Double] = [:]
        for split in [Snapshot.Split.train, .eval] {
            try context.checkCancelled()
            let info = try TokenShardWriter.write(snapshot: snapshot, split: split, tokenizer: tokenizer,
                                                  to: context.outputFolder.appendingPathComponent(split.rawValue))
            metrics["tokens.\(split.rawValue)"] = Double(info.tokens)
            metrics["tokens.\(split.rawValue)_scored"] = Double(info.scoredTokens)
            context.log("\(split.rawValue): \(info.examples) examples, \(info.tokens) tokens (\(info.scoredTokens) scored)")
        }
        return StageResult(metrics: metrics)
    }
}
