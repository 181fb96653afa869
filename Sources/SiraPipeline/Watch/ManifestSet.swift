import Foundation

/// A manifest as the daemon holds it: where it came from and what it says.
public struct LoadedManifest: Sendable, Equatable {
    public var file: URL
    public var manifest: Manifest
    public var name: String { manifest.name }
}

/// The pipelines of a workspace: every `*.yaml` / `*.yml` in `pipelines/`, by pipeline name.
///
/// Reloading (SIGHUP) is all-or-nothing per file: a file that no longer loads keeps its previous
/// version in force, and the problem is reported; a file that loads replaces it; a deleted file
/// removes its pipeline. Two files naming the same pipeline: the first (by file name) wins and the
/// other is reported. Not thread-safe: the daemon calls it from its control queue.
public final class ManifestSet: @unchecked Sendable {
    public struct Problem: Sendable, CustomStringConvertible {
        public var file: String
        public var message: String
        /// The previous version of this file stays in force.
        public var keptPrevious: Bool
        public var description: String {
            keptPrevious ? "\(message) (keeping the previously loaded version)" : message
        }
    }

    public struct Report: Sendable {
        public var loaded: [String] = []
        public var changed: [String] = []
        public var removed: [String] = []
        public var problems: [Problem] = []
    }

    public let workspace: Workspace
    public let folder: URL
    private var byFile: [String: LoadedManifest] = [:]
    /// Files whose current version does not load (whether or not an older one is kept).
    public private(set) var failingFiles: Set<String> = []

    public init(workspace: Workspace, folder: URL? = nil) {
        self.workspace = workspace
        self.folder = folder ?? workspace.root.appendingPathComponent("pipelines")
    }

    /// Loaded pipelines, by name.
    public var byName: [String: LoadedManifest] {
        var out: [String: LoadedManifest] = [:]
        for file in byFile.keys.sorted() where out[byFile[file]!.name] == nil {
            out[byFile[file]!.name] = byFile[file]!
        }
        return out
    }

    public var all: [LoadedManifest] { byName.values.sorted { $0.name < $1.name } }

    public func manifest(named name: String) -> Manifest? { byName[name]?.manifest }

    /// (Re)reads the folder.
    @discardableResult
    public func reload() -> Report {
        var report = Report()
        let files = Self.manifestFiles(in: folder)
        var next: [String: LoadedManifest] = [:]
        failingFiles = []
        for url in files {
            let shown = workspace.relative(url)
            do {
                let manifest = try ManifestLoader.load(url, displayPath: shown)
                let loaded = LoadedManifest(file: url, manifest: manifest)
                if let old = byFile[url.path] {
                    if old.manifest != manifest { report.changed.append(manifest.name) }
                } else {
                    report.loaded.append(manifest.name)
                }
                next[url.path] = loaded
            } catch {
                failingFiles.insert(url.path)
                let kept = byFile[url.path]
                if let kept { next[url.path] = kept }
                report.problems.append(Problem(file: shown, message: "\(error)", keptPrevious: kept != nil))
            }
        }
        var owner: [String: String] = [:]
        for path in next.keys.sorted() {
            let name = next[path]!.name
            if let first = owner[name] {
                report.problems.append(Problem(
                    file: workspace.relative(URL(fileURLWithPath: path)),
                    message: "\(workspace.relative(URL(fileURLWithPath: path))): pipeline name '\(name)' is already used by \(workspace.relative(URL(fileURLWithPath: first))); ignored",
                    keptPrevious: false))
                failingFiles.insert(path)
            } else {
                owner[name] = path
            }
        }
        let before = Set(byName.keys)
        byFile = next
        report.removed = before.subtracting(byName.keys).sorted()
        return report
    }

    static func manifestFiles(in folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }
            .sorted().map { folder.appendingPathComponent($0) }
    }
}
