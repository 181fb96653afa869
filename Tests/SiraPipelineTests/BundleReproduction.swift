import Foundation
import SiraData
import SiraModel
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

extension TinyPipeline {
    /// A stage's published output in `run`, found through its recorded cache key.
    func output(_ stage: String, run: RunID, store: RunStore) throws -> StageOutput {
        let row = try #require(try store.stages(run: run).last { $0.stage == stage }, "no stage \(stage)")
        let id = try #require(StageID(parsing: stage))
        let folder = workspace.stageCacheFolder(id.kind).appendingPathComponent(try #require(row.cacheKey))
        return try #require(StageOutput.loadIfComplete(folder: folder, workspace: workspace), "\(stage) has no complete output")
    }

    /// Opens the run's published bundle and, for every task, evaluates the adapter the bundle
    /// serves for it — weights, configuration and tokenizer all read back from the package, the
    /// base from the run's base stage — on the task's eval split, exactly as the evaluate stage
    /// measures. Loss, token accuracy and exact match must equal, bit for bit, what the run stored
    /// in SQLite for that adapter's replica and what the bundle's manifest carries.
    /// Returns task → the bundle entry serving it.
    @discardableResult
    func expectBundleReproducesEvaluation(run: RunID, store: RunStore, maxExamples: Int, maxNewTokens: Int) throws -> [String: String] {
        let index = try #require(try CheckpointIndex.latest(workspace: workspace, pipeline: "tiny"))
        let file = try #require(index.packages.first { $0.stage == "package:bundle" }?.file)
        let opened = try OpenedPackage(workspace.resolve(file), scratch: tw.url)
        defer { opened.close() }
        #expect(opened.manifest.kind == .bundle)
        let base = try output("base", run: run, store: store)
        try BaseIdentity.check(folder: base.folder, expected: opened.manifest.base.sha256, baseName: "tiny")
        let tokenizer = try BPETokenizer(contentsOf: opened.tokenizerURL)
        let stored = try store.metrics(run: run).filter { $0.step == nil }
        var served: [String: String] = [:]
        for task in try manifest().adaptedTasks.map(\.name) {
            let name = try opened.adapterName(task: task)
            served[task] = name
            guard case let .string(replica)? = opened.manifest.extra?["replicas"]?[name] else {
                Issue.record("bundle has no replica for \(name)")
                continue
            }
            let model = try LlamaModel.load(huggingFaceFolder: base.folder)
            model.threads = 1
            try opened.attach(name, to: model)
            let shard = try TokenizerFiles.shard(try output("tokenize@\(task)", run: run, store: store), .eval)
            let (_, snapshot) = try SnapshotReference.load(try output("ingest@\(task)", run: run, store: store), workspace: workspace)
            let count = min(shard.count, maxExamples)
            let measured = try EvalLoss.measure(model, shard: shard, count: count, padID: Int32(tokenizer.padID))
            let predictions = try ExactMatch.measure(
                model, shard: shard, expected: try snapshot.examples(.eval).prefix(count).map(\.completion), maxNewTokens: maxNewTokens,
                stop: Set(tokenizer.rules.addingStops(model.config.eosTokenIds).stopIDs), decode: { tokenizer.decode($0, skipSpecialTokens: true) })
            func recorded(_ key: String) -> Double? { stored.first { $0.task == task && $0.variant == replica && $0.key == key }?.value }
            #expect(recorded("eval.loss") == measured.loss, "\(task) \(name) (\(replica))")
            #expect(recorded("eval.token_accuracy") == measured.tokenAccuracy, "\(task) \(name)")
            #expect(recorded("eval.exact_match") == ExactMatch.rate(predictions), "\(task) \(name)")
            let entry = try #require(opened.manifest.adapters[name])
            let prefix = entry.tasks.count > 1 ? "\(task)/" : ""
            #expect(entry.metrics[prefix + "loss"] == measured.loss)
            #expect(entry.metrics[prefix + "exact_match"] == ExactMatch.rate(predictions))
        }
        return served
    }
}
