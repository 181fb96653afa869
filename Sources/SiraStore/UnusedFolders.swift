import Foundation
import GRDB
import SiraIO

/// A generated folder that `gc` removes besides runs' checkpoint folders.
public struct UnusedFolder: Codable, Sendable, Equatable {
    /// Relative to the workspace, e.g. `data/cache/train/<key>`.
    public var path: String
    /// Apparent size of its regular files (hard links to files elsewhere included).
    public var bytes: Int64
    public var reason: String
}

public struct UnusedFolderPlan: Codable, Sendable, Equatable {
    public var folders: [UnusedFolder]
    /// Why `data/cache` was left alone (a live run), nil when it was examined.
    public var cacheSkipped: String?

    public init(folders: [UnusedFolder] = [], cacheSkipped: String? = nil) {
        self.folders = folders
        self.cacheSkipped = cacheSkipped
    }
}

/// Stage outputs and per-run files that nothing kept refers to:
/// - `data/cache/<kind>/<key>/` whose (kind, key) no remaining run's stage attempt recorded and
///   no remaining run's artifact lies in; `<key>.work/` (resumable training state) likewise;
///   `.<key>.tmp-*` folders a killed process left;
/// - `data/logs/<run>/` and `data/slurm/<run>/` of runs no longer in the database;
/// - `.gc-*` folders an interrupted gc left.
///
/// Contract: call with the workspace's scheduler lock held (`flock` on `data/scheduler.lock`), so
/// no process is writing into `data/cache`. As a second guard, while any remaining run is live
/// (queued or running, e.g. on another host) nothing in `data/cache` is planned.
extension RunStore {
    /// The plan as it will be once the runs in `removing` are deleted (so a dry run sees it too).
    public func planUnusedFolders(workspace: URL, removingRuns removing: Set<RunID> = []) throws -> UnusedFolderPlan {
        let root = workspace.standardizedFileURL
        let cache = root.appendingPathComponent("data/cache")
        let (used, live, remaining) = try pool.read { db -> (Set<String>, [(RunID, String)], Set<RunID>) in
            var used = Set<String>()
            for row in try Row.fetchAll(db, sql: "SELECT run_id, kind, cache_key FROM stage_runs WHERE cache_key IS NOT NULL") {
                let run: RunID = row["run_id"]
                if !removing.contains(run) { used.insert("\(row["kind"] as String)/\(row["cache_key"] as String)") }
            }
            let prefix = cache.path + "/"
            for row in try Row.fetchAll(db, sql: "SELECT run_id, path FROM artifacts") {
                let run: RunID = row["run_id"]
                let path: String = row["path"]
                let full = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)).standardizedFileURL.path
                guard !removing.contains(run), full.hasPrefix(prefix) else { continue }
                let parts = full.dropFirst(prefix.count).split(separator: "/", maxSplits: 2)
                if parts.count >= 2 { used.insert("\(parts[0])/\(parts[1])") }
            }
            var live: [(RunID, String)] = []
            var remaining = Set<RunID>()
            for row in try Row.fetchAll(db, sql: "SELECT id, status FROM runs ORDER BY id") {
                let id: RunID = row["id"]
                guard !removing.contains(id) else { continue }
                remaining.insert(id)
                let status: String = row["status"]
                if let s = RunStatus(rawValue: status), !s.isFinal { live.append((id, status)) }
            }
            return (used, live, remaining)
        }

        var plan = UnusedFolderPlan()
        func add(_ url: URL, _ reason: String) {
            plan.folders.append(UnusedFolder(path: Self.relativePath(url, root), bytes: Self.treeBytes(url), reason: reason))
        }
        if let (id, status) = live.first {
            plan.cacheSkipped = "run \(id) is \(status): data/cache is left alone while a run is live"
        } else {
            for kind in Self.subfolders(cache) {
                let folder = cache.appendingPathComponent(kind)
                for name in Self.subfolders(folder) {
                    let url = folder.appendingPathComponent(name)
                    if name.hasPrefix(".gc-") {
                        add(url, "left by an interrupted gc")
                    } else if name.hasPrefix("."), name.contains(".tmp-") {
                        add(url, "temporary left by a stopped process")
                    } else if name.hasSuffix(".work") {
                        if !used.contains("\(kind)/\(name.dropLast(5))") { add(url, "resumable state of a stage no kept run uses") }
                    } else if !used.contains("\(kind)/\(name)") {
                        add(url, "no kept run uses it")
                    }
                }
            }
        }
        for area in ["data/logs", "data/slurm"] {
            let folder = root.appendingPathComponent(area)
            for name in Self.subfolders(folder) {
                if name.hasPrefix(".gc-") {
                    add(folder.appendingPathComponent(name), "left by an interrupted gc")
                } else if let id = RunID(name), id > 0, String(id) == name, !remaining.contains(id) {
                    add(folder.appendingPathComponent(name), "run \(id) is gone")
                }
            }
        }
        return plan
    }

    /// Removes the plan's folders: each is first renamed aside (`.gc-<name>-<random>`, atomic, so a
    /// half-removed output never looks complete to a scheduler), then deleted. Returns how many
    /// were removed; folders already gone are skipped.
    @discardableResult
    public func removeUnusedFolders(_ plan: UnusedFolderPlan, workspace: URL) throws -> Int {
        let root = workspace.standardizedFileURL
        let fm = FileManager.default
        var removed = 0
        for f in plan.folders {
            let url = root.appendingPathComponent(f.path).standardizedFileURL
            guard url.path.hasPrefix(root.path + "/data/"), fm.fileExists(atPath: url.path) else { continue }
            if url.lastPathComponent.hasPrefix(".gc-") {
                try fm.removeItem(at: url)
            } else {
                let parent = url.deletingLastPathComponent()
                let aside = parent.appendingPathComponent(".gc-\(url.lastPathComponent)-\(UInt32.random(in: 0 ... .max))")
                try fm.moveItem(at: url, to: aside)
                AtomicFile.syncFolder(parent)
                try fm.removeItem(at: aside)
            }
            removed += 1
        }
        return removed
    }

    /// Names of the directories (not files, not links) directly in `folder`, sorted.
    static func subfolders(_ folder: URL) -> [String] {
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).filter { name in
            let attrs = try? fm.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
            return attrs?[.type] as? FileAttributeType == .typeDirectory
        }.sorted()
    }

    static func relativePath(_ url: URL, _ root: URL) -> String {
        let p = url.standardizedFileURL.path, r = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return p.hasPrefix(r) ? String(p.dropFirst(r.count)) : p
    }
}
