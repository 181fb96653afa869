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
            for task in m.manifest.tasks where matches(task.from, path: path, workspace: workspace) {
                out.append(Route(pipeline: m.name, task: task.name))
            }
        }
        return out
    }

    public static func matches(_ pattern: String, path: String, workspace: Workspace) -> Bool {
        let full = workspace.resolve(pattern).path
        return fnmatch(full, path, FNM_PATHNAME | FNM_PERIOD) == 0
    }
}

/// The identity of what a pipeline would run on: its manifest and the distinct contents of its
/// tasks' input files. Equal fingerprints mean a run would see exactly the same inputs, so the same
/// content dropped again under any name does not start a run, while any changed file does.
///
/// Hashes are cached by file signature (device, inode, size, mtime), so a rescan of an unchanged
/// inbox reads nothing.
public final class InputFingerprinter: @unchecked Sendable {
    private let lock = NSLock()
    private var cache: [String: (FileSignature, String)] = [:]

    public init() {}

    /// The content hash of a file, from the cache when its signature is unchanged.
    public func sha256(of path: String) throws -> String {
        guard let signature = FileSignature(path: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        if let (s, h) = lock.withLock({ cache[path] }), s == signature { return h }
        let hash = try ContentHash.sha256(file: URL(fileURLWithPath: path))
        lock.withLock { cache[path] = (signature, hash) }
        return hash
    }

    /// `sha256(manifest bytes, then per task: name and sorted distinct input hashes)`.
    public func fingerprint(_ manifest: Manifest, workspace: Workspace) throws -> String {
        var hasher = ContentHasher()
        hasher.update("manifest \(manifest.sha256)\n")
        for task in manifest.tasks {
            let hashes = Set(try TaskSources.files(task, workspace: workspace).map { try sha256(of: $0.path) })
            hasher.update("task \(task.name) \(hashes.sorted().joined(separator: ","))\n")
        }
        return hasher.finalize()
    }
}
