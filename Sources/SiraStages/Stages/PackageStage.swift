import Foundation
import SiraPipeline
import SiraIO
import SiraStore

/// `package@task:variant` (and `package:multitask`): the trained adapter as a `.sira` package
/// (SiraStore: a zstd-compressed tar with `manifest.json`, the adapter's safetensors and config,
/// `tokenizer.json` and `SHA256SUMS`). The manifest names the base by its content digest and
/// carries the evaluation metrics. The run publishes packages into `checkpoints/` afterwards
/// (`CheckpointIndex`).
struct PackageStage: PipelineStage {
    let pipeline: String
    let tasks: [String]
    let variant: AdapterVariant
    let multitask: Bool
    let zstdLevel: Int
    /// A readable name of the base (`builtin-llama-4x256`, or the HF folder's name).
    let baseName: String

    var id: StageID { own(.package) }
    var trained: StageID { own(.train) }

    /// This adapter's stage of `kind`: per variant for a multitask adapter, else per task and variant.
    private func own(_ kind: StageKind) -> StageID {
        multitask ? StageID(kind, variant: variant.name) : StageID(kind, task: tasks[0], variant: variant.name)
    }

    var dependencies: [StageID] {
        [StageID(.tokenizer), StageID(.base), trained] + tasks.map { StageID(.evaluate, task: $0, variant: variant.name) }
    }

    var fileName: String { "\(pipeline)-\(multitask ? variant.name : "\(tasks[0])-\(variant.name)").sira" }

    struct Parameters: Codable {
        var pipeline: String
        var tasks: [String]
        var variant: String
        var kind: String
        var zstdLevel: Int
        var baseName: String
    }

    func parameters() throws -> String {
        try CacheKey.canonicalJSON(Parameters(pipeline: pipeline, tasks: tasks, variant: variant.name, kind: variant.kind.rawValue,
                                              zstdLevel: zstdLevel, baseName: baseName))
    }

    func run(_ context: StageContext) throws -> StageResult {
        let tokenizerFile = try context.input(StageID(.tokenizer)).url(TokenizerFiles.fileName)
        let base = try context.input(StageID(.base))
        let adapter = try context.input(trained)
        let decoder = JSONDecoder()
        let baseConfig = BaseStage.configJSON(base)
        let adapterConfig = try decoder.decode(SiraStore.JSONValue.self, from: Data(contentsOf: adapter.url(TrainStage.configName)))
        var metrics: [String: Double] = [:]
        for task in tasks {
            let eval = try context.input(StageID(.evaluate, task: task, variant: variant.name))
            for (key, value) in eval.metrics where key.hasPrefix("eval.") {
                let name = key.dropFirst("eval.".count)
                metrics[multitask ? "\(task)/\(name)" : String(name)] = value
            }
        }
        let manifest = PackageManifest(
            kind: .adapter, toolVersion: ToolVersion.string, pipeline: pipeline, runID: context.runID,
            base: .init(name: baseName, sha256: try BaseIdentity.of(baseOutput: base), config: baseConfig),
            tokenizer: .init(file: TokenizerFiles.fileName, sha256: try ContentHash.sha256(file: tokenizerFile)),
            adapters: [variant.name: .init(file: TrainStage.weightsName, variant: variant.kind.rawValue, tasks: tasks,
                                           config: adapterConfig, metrics: metrics)]
        )
        let url = context.outputFolder.appendingPathComponent(fileName)
        let result = try SiraPackage.write(
            to: url, manifest: manifest,
            files: [PackageFile(name: TrainStage.weightsName, source: adapter.url(TrainStage.weightsName)),
                    PackageFile(name: TrainStage.configName, source: adapter.url(TrainStage.configName)),
                    PackageFile(name: TokenizerFiles.fileName, source: tokenizerFile)],
            level: Int32(zstdLevel)
        )
        context.log("\(fileName): \(result.packageBytes) bytes from \(result.inputBytes) (sha256 \(result.packageSHA256))")
        var out = metrics.mapValues { $0 }
        out["package.bytes"] = Double(result.packageBytes)
        return StageResult(metrics: out)
    }
}
