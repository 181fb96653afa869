import Foundation

/// A workspace: the folder a pipeline runs in (DESIGN.md §2). Every path a manifest names is
/// relative to `root`; every generated file lives below `data/` or `checkpoints/`.
public struct Workspace: Sendable, Equatable {
    public let root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    public var dataFolder: URL { root.appendingPathComponent("data") }
    /// Stage outputs by kind and cache key: `data/cache/<kind>/<key>/`, shared by all runs.
    public var cacheFolder: URL { dataFolder.appendingPathComponent("cache") }
    /// Ingested dataset snapshots (SiraData): `data/datasets/<task>/<sha>/`.
    public var datasetsFolder: URL { dataFolder.appendingPathComponent("datasets") }
    public var quarantineFolder: URL { dataFolder.appendingPathComponent("quarantine") }
    /// Stage logs: `data/logs/<run>/<stage>.<attempt>.log`.
    public var logsFolder: URL { dataFolder.appendingPathComponent("logs") }
    public var databaseURL: URL { dataFolder.appendingPathComponent("runs.sqlite") }
    /// Held with `flock` by the one scheduler allowed per workspace.
    public var lockURL: URL { dataFolder.appendingPathComponent("scheduler.lock") }
    public var checkpointsFolder: URL { root.appendingPathComponent("checkpoints") }

    /// `path` resolved against the root unless absolute.
    public func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path).standardizedFileURL : root.appendingPathComponent(path).standardizedFileURL
    }

    /// `url` relative to the root when it is inside it (for messages, logs and records).
    public func relative(_ url: URL) -> String {
        let p = url.standardizedFileURL.path
        let r = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return p.hasPrefix(r) ? String(p.dropFirst(r.count)) : p
    }

    public func stageCacheFolder(_ kind: StageKind) -> URL { cacheFolder.appendingPathComponent(kind.rawValue) }
}

/// The files a task's `from` matches in a workspace.
public enum TaskSources {
    public static func files(_ task: TaskSpec, workspace: Workspace) -> [URL] {
        Glob.expand(TaskFolders.glob(task.from), root: workspace.root)
    }

    /// Tasks whose `from` matches no file (yet).
    public static func unmatched(_ manifest: Manifest, workspace: Workspace) -> [TaskSpec] {
        manifest.tasks.filter { files($0, workspace: workspace).isEmpty }
    }
}
