import Foundation
import SiraPipeline
import SiraIO
import SiraModel
import SiraStore

/// A bundle (`kind: bundle`): the adapter chosen for each task plus the multitask adapter, with
/// the base they all apply to, in one `.sira` package, for serving several tasks from one file.
///
/// Entries are named `<task>.<variant>` (the multitask adapter by its variant name); each
/// adapter's weights are `<entry>.safetensors`, its configuration is in the manifest. The
/// explicit task → adapter table is `extra.task_adapters`; `OpenedPackage` reads it.
public enum BundleWriter {
    public struct Entry: Sendable {
        public var name: String
        /// lora | molora | sira | multitask.
        public var variant: String
        public var tasks: [String]
        public var config: AdapterConfig
        /// The adapter's safetensors (PEFT-style names).
        public var weights: URL
        public var metrics: [String: Double]

        public init(name: String, variant: String, tasks: [String], config: AdapterConfig, weights: URL, metrics: [String: Double]) {
            self.name = name
            self.variant = variant
            self.tasks = tasks
            self.config = config
            self.weights = weights
            self.metrics = metrics
        }
    }

    public static let tableKey = "task_adapters"

    /// Writes the bundle; `taskAdapters` maps every task to one of the entries' names.
    @discardableResult
    public static func write(to url: URL, pipeline: String?, runID: Int64?, base: PackageManifest.Base, tokenizer: URL,
                             entries: [Entry], taskAdapters: [String: String], extra: [String: SiraStore.JSONValue] = [:],
                             zstdLevel: Int32 = 3) throws -> PackageWriteResult {
        let names = Set(entries.map(\.name))
        for (task, name) in taskAdapters where !names.contains(name) {
            throw PackageUseError("bundle: task \(task) maps to '\(name)', which is not one of its adapters (\(names.sorted().joined(separator: ", ")))")
        }
        var adapters: [String: PackageManifest.Adapter] = [:]
        var files: [PackageFile] = []
        for e in entries {
            let config = try JSONDecoder().decode(SiraStore.JSONValue.self, from: JSONEncoder().encode(e.config))
            adapters[e.name] = PackageManifest.Adapter(file: "\(e.name).safetensors", variant: e.variant, tasks: e.tasks,
                                                       config: config, metrics: e.metrics)
            files.append(PackageFile(name: "\(e.name).safetensors", source: e.weights))
        }
        files.append(PackageFile(name: "tokenizer.json", source: tokenizer))
        var extraObject = extra
        extraObject[tableKey] = .object(taskAdapters.mapValues { .string($0) })
        let manifest = PackageManifest(
            kind: .bundle, toolVersion: ToolVersion.string, pipeline: pipeline, runID: runID, base: base,
            tokenizer: .init(file: "tokenizer.json", sha256: try ContentHash.sha256(file: tokenizer)),
            adapters: adapters, extra: .object(extraObject)
        )
        return try SiraPackage.write(to: url, manifest: manifest, files: files, level: zstdLevel)
    }
}
