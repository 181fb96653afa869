import Foundation
import SiraPipeline
import SiraIO
import SiraStore

/// `package:bundle`: what `merge` selected — each task's chosen adapter and the multitask
/// adapters — as one `.sira` bundle (`BundleWriter`) with the task → adapter table, the base
/// named by its content digest, the tokenizer, and each adapter's evaluation metrics
/// (a multitask adapter's keyed `<task>/<metric>`). `score`/`generate --adapter B.sira --task T`
/// serve from it; `export` folds a LoRA entry into the base.
struct BundlePackageStage: PipelineStage {
    static let variantName = StageID.bundleVariant

    let pipeline: String
    let zstdLevel: Int
    let baseName: String

    var id: StageID { StageID(.package, variant: Self.variantName) }
    var dependencies: [StageID] { [StageID(.merge), StageID(.tokenizer), StageID(.base)] }

    var fileName: String { "\(pipeline)-bundle.sira" }

    struct Parameters: Codable {
        var pipeline: String
        var zstdLevel: Int
        var baseName: String
    }

    func parameters() throws -> String {
        try CacheKey.canonicalJSON(Parameters(pipeline: pipeline, zstdLevel: zstdLevel, baseName: baseName))
    }

    func run(_ context: StageContext) throws -> StageResult {
        let merge = try context.input(StageID(.merge))
        let base = try context.input(StageID(.base))
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let selection = try decoder.decode(MergeStage.Selection.self, from: Data(contentsOf: merge.url(MergeStage.selectionName)))
        let entries = selection.choices.map { c -> BundleWriter.Entry in
            var metrics: [String: Double] = [:]
            for (task, values) in c.metrics {
                for (k, v) in values { metrics[c.tasks.count > 1 ? "\(task)/\(k)" : k] = v }
            }
            return BundleWriter.Entry(name: c.entry, variant: c.kind, tasks: c.tasks, config: c.config,
                                      weights: merge.url("\(c.entry).safetensors"), metrics: metrics)
        }
        let baseConfig = BaseStage.configJSON(base)
        let replicas = Dictionary(uniqueKeysWithValues: selection.choices.map { ($0.entry, SiraStore.JSONValue.string($0.replica)) })
        let url = context.outputFolder.appendingPathComponent(fileName)
        let result = try BundleWriter.write(
            to: url, pipeline: pipeline, runID: context.runID, base: .init(name: baseName, sha256: try BaseIdentity.of(baseOutput: base), config: baseConfig),
            tokenizer: try context.input(StageID(.tokenizer)).url(TokenizerFiles.fileName), entries: entries,
            taskAdapters: selection.taskAdapters,
            extra: ["replicas": .object(replicas), "verdicts": .array(selection.verdicts.map { .string($0) })],
            zstdLevel: Int32(zstdLevel)
        )
        context.log("\(fileName): \(entries.count) adapters for \(selection.taskAdapters.count) tasks, \(result.packageBytes) bytes")
        return StageResult(metrics: ["package.bytes": Double(result.packageBytes), "package.adapters": Double(entries.count)])
    }
}
