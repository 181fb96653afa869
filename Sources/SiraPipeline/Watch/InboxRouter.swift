#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SiraIO

/// Which pipelines take a file: those with a task whose `from` glob matches it.
public enum InboxRouter {
    public struct Route: Sendable, Hashable {
        public var pipeline: String
        public var task: String
    }

    /// Routes of `path` (absolute) among `manifests`. Globs are relative to the workspace and
    /// match like the shell's (`*` does not cross `/`, a leading `.` must be matched explicitly),
    /// the same rule `Glob.expand` applies when a run collects its inputs.
    public static func routes(of path: String, manifests: [LoadedManifest], workspace: Workspace) -> [Route] {
        var out: [Route] = []
        for m in manifests {
            for task in m.manifest.tasks {
                if TaskFolders.isTemplate(task.from) {
                    if let name = TaskFolders.taskName(for: path, template: task.from, workspace: workspace) {
                        out.append(Route(pipeline: m.name, task: name))
                    }
                } else if matches(task.from, path: path, workspace: workspace) {
                    out.append(Route(pipeline: m.name, task: task.name))
                }
            }
        }
        return out
    }

    public static func matches(_ pattern: String, path: String, workspace: Workspace) -> Bool {
        let full = workspace.resolve(pattern).path
        return fnmatch(full, path, FNM_PATHNAME | FNM_PERIOD) == 0
    }
}

/// Content hashes of inbox files, cached by file signature (device, inode, size, mtime) so a
/// rescan of an unchanged inbox reads nothing. The daemon's idempotence is by content: a pipeline
/// runs for a content hash once, whatever the file's name.
public final class ContentHashCache: @unchecked Sendable {
    private let lock = NSLock()
    private var cache: [String: (FileSignature, String)] = [:]

    public init() {}

    /// The SHA-256 of a regular file, from the cache when its signature is unchanged.
    public func sha256(of path: String) throws -> String {
        guard let signature = FileSignature(path: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        if let (s, h) = lock.withLock({ cache[path] }), s == signature { return h }
        let hash = try ContentHash.sha256(file: URL(fileURLWithPath: path))
        lock.withLock { cache[path] = (signature, hash) }
        return hash
    }

    /// Drops a path that left the inbox, so a long-running daemon's cache holds only present files.
    public func forget(_ path: String) {
        lock.withLock { _ = cache.removeValue(forKey: path) }
    }

    /// The distinct content hashes of the files a manifest's tasks would read now.
    public func inputHashes(_ manifest: Manifest, workspace: Workspace) -> Set<String> {
        var out = Set<String>()
        for task in manifest.tasks {
            for file in TaskSources.files(task, workspace: workspace) {
                if let h = try? sha256(of: file.path) { out.insert(h) }
            }
        }
        return out
    }
}
