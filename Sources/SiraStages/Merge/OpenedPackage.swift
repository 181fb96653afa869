import Foundation
import SiraPipeline
import SiraModel
import SiraStore

/// A `.sira` package unpacked (and verified) into a scratch folder, ready to attach its adapters
/// to a base model. `score`, `generate` and `export` read packages through here, so a package is
/// always checked (SHA256SUMS, manifest) before any weight is used.
///
/// Which adapter serves a task: an `adapter` package has one adapter; a `bundle` maps each task to
/// the adapter chosen for it in `extra.task_adapters` (`BundleWriter`); without that table, the
/// entry listing the task that is not a multitask adapter, else the multitask one.
public final class OpenedPackage: @unchecked Sendable {
    public let url: URL
    public let folder: URL
    public let manifest: PackageManifest

    /// Extracts `url` into a fresh folder inside `scratch` (default: the system temporary folder).
    /// The folder is removed by `close()` or when the object goes away.
    public init(_ url: URL, scratch: URL? = nil) throws {
        self.url = url
        let parent = scratch ?? FileManager.default.temporaryDirectory
        let extracted = try SiraPackage.extract(url, into: parent)
        folder = extracted.folder
        manifest = extracted.contents.manifest
    }

    deinit { close() }

    public func close() { try? FileManager.default.removeItem(at: folder) }

    /// The package's `tokenizer.json`.
    public var tokenizerURL: URL { folder.appendingPathComponent(manifest.tokenizer.file) }

    /// Adapter names, sorted.
    public var adapterNames: [String] { manifest.adapters.keys.sorted() }

    /// The tasks the package serves, sorted.
    public var tasks: [String] { Array(Set(manifest.adapters.values.flatMap(\.tasks))).sorted() }

    /// The adapter to use: `name` when given, else the one chosen for `task`, else the package's
    /// only adapter. Errors name the package and list what it has.
    public func adapterName(task: String?, name: String? = nil) throws -> String {
        if let name {
            guard manifest.adapters[name] != nil else {
                throw PackageUseError("\(url.path): no adapter '\(name)' (it has \(adapterNames.joined(separator: ", ")))")
            }
            return name
        }
        if let task {
            if case let .string(name)? = manifest.extra?[BundleWriter.tableKey]?[task], manifest.adapters[name] != nil {
                return name
            }
            let serving = manifest.adapters.filter { $0.value.tasks.contains(task) }
            if let chosen = serving.filter({ $0.value.variant != "multitask" }).keys.sorted().first ?? serving.keys.sorted().first {
                return chosen
            }
            throw PackageUseError("\(url.path): no adapter for task '\(task)' (tasks: \(tasks.joined(separator: ", ")))")
        }
        guard manifest.adapters.count == 1, let only = manifest.adapters.keys.first else {
            throw PackageUseError("\(url.path) is a bundle of \(manifest.adapters.count) adapters: choose one with --task (\(tasks.joined(separator: ", ")))")
        }
        return only
    }

    /// The adapter's configuration, from the manifest.
    public func config(_ name: String) throws -> AdapterConfig {
        guard let entry = manifest.adapters[name] else { throw PackageUseError("\(url.path): no adapter '\(name)'") }
        do {
            return try JSONDecoder().decode(AdapterConfig.self, from: JSONEncoder().encode(entry.config))
        } catch {
            throw PackageUseError("\(url.path): manifest adapters.\(name).config: \(error)")
        }
    }

    /// Builds adapter `name`, hooks it into `model` and loads its weights (every tensor present
    /// with its shape, nothing else in the file). On error the model is left without adapters.
    @discardableResult
    public func attach(_ name: String, to model: LlamaModel) throws -> AdapterSet {
        let config = try config(name)
        do { try AdapterLimits.check(config, fits: model.config) } catch {
            throw PackageUseError("\(url.path): adapters.\(name).config: \(error)")
        }
        let set = try AdapterSet(config: config, seed: 0)
        set.attach(to: model)
        do {
            try SiraModel.AdapterFiles.load(into: set, from: folder.appendingPathComponent(manifest.adapters[name]!.file))
        } catch {
            model.detachAdapters()
            throw error
        }
        return set
    }
}

/// A package that cannot be used as asked (missing adapter, wrong task, wrong base).
public struct PackageUseError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
