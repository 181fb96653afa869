import Foundation
import SiraIO

/// Which runs `gc` removes. Given both, a run goes only when it is beyond the newest `keep` of
/// its pipeline *and* older than `olderThan`.
public struct RetentionPolicy: Sendable, Equatable {
    /// Keep the newest N runs of each pipeline.
    public var keep: Int?
    /// Remove runs created more than this many seconds ago.
    public var olderThan: TimeInterval?
    /// Only this pipeline (all when nil).
    public var pipeline: String?

    public init(keep: Int? = nil, olderThan: TimeInterval? = nil, pipeline: String? = nil) {
        self.keep = keep
        self.olderThan = olderThan
        self.pipeline = pipeline
    }
}

/// What retention decided for one run the policy selected.
public struct RetentionDecision: Codable, Sendable, Equatable {
    public var run: RunRecord
    public var delete: Bool
    /// Why it is kept despite the policy, or why it goes.
    public var reason: String
    /// `checkpoints/<pipeline>/<run>` relative to the workspace, when that folder exists.
    public var folder: String?
    public var folderBytes: Int64
}

public struct RetentionPlan: Codable, Sendable, Equatable {
    public var decisions: [RetentionDecision]
    public var deletions: [RetentionDecision] { decisions.filter(\.delete) }
    public var bytesToFree: Int64 { deletions.reduce(0) { $0 + $1.folderBytes } }
}

/// Retention over `checkpoints/<pipeline>/<run>/` folders and their database rows.
///
/// Never removed: live runs (queued, running); the newest succeeded run of each pipeline; the
/// newest succeeded run of each pipeline that holds a package (a `package` artifact or a `.sira`
/// file in its folder); any run whose folder holds a file a kept run recorded as an artifact.
extension RunStore {
    /// `checkpoints/<pipeline>/<run>/`, or nil when the pipeline name is not a plain folder name
    /// (then retention never touches files for it).
    public static func checkpointFolder(workspace: URL, pipeline: String, run: RunID) -> URL? {
        pipelineFolder(workspace: workspace, pipeline: pipeline)?.appendingPathComponent(String(run))
    }

    /// `checkpoints/<pipeline>/`, or nil when the name is not a plain folder name.
    public static func pipelineFolder(workspace: URL, pipeline: String) -> URL? {
        guard !pipeline.isEmpty, pipeline != ".", pipeline != "..", !pipeline.contains("/"),
              !pipeline.contains("\0") else { return nil }
        return workspace.appendingPathComponent("checkpoints").appendingPathComponent(pipeline)
    }

    public func planRetention(_ policy: RetentionPolicy, workspace: URL, now: Date = Date()) throws -> RetentionPlan {
        precondition(policy.keep != nil || policy.olderThan != nil, "a retention policy needs keep or olderThan")
        let root = workspace.standardizedFileURL
        let all = try runs(RunFilter(pipeline: policy.pipeline))
        var decisions: [RetentionDecision] = []
        var keptArtifactPaths: [RunID: [String]] = [:]
        let byPipeline = Dictionary(grouping: all, by: \.pipeline)
        var plannedDeletes: [(RunRecord, URL?)] = []

        for pipeline in byPipeline.keys.sorted() {
            let list = byPipeline[pipeline]!  // newest first
            let newestSucceeded = list.first { $0.status == .succeeded }?.id
            let newestPackaged = try list.first { try $0.status == .succeeded && hasPackage($0, root: root) }?.id
            for (index, run) in list.enumerated() {
                let beyondKeep = policy.keep.map { index >= $0 } ?? true
                let old = policy.olderThan.map { now.timeIntervalSince(run.createdAt) > $0 } ?? true
                let folder = Self.checkpointFolder(workspace: root, pipeline: pipeline, run: run.id)
                guard beyondKeep && old else {
                    keptArtifactPaths[run.id] = try artifacts(run: run.id).map(\.path)
                    continue
                }
                var reason: String?
                if !run.status.isFinal { reason = "still \(run.status.rawValue)" }
                else if run.id == newestPackaged { reason = "newest successful package of \(pipeline)" }
                else if run.id == newestSucceeded { reason = "newest successful run of \(pipeline)" }
                if let reason {
                    decisions.append(decision(run, false, reason, folder, root))
                    keptArtifactPaths[run.id] = try artifacts(run: run.id).map(\.path)
                } else {
                    plannedDeletes.append((run, folder))
                }
            }
        }
        // A folder holding a file some kept run refers to (a cached stage's output) stays.
        for (run, folder) in plannedDeletes {
            var user: RunID?
            if let folder {
                let prefix = folder.standardizedFileURL.path + "/"
                for (kept, paths) in keptArtifactPaths.sorted(by: { $0.key < $1.key }) where user == nil {
                    if paths.contains(where: { resolve($0, root).hasPrefix(prefix) }) { user = kept }
                }
            }
            if let user {
                decisions.append(decision(run, false, "run \(user) uses files in its folder", folder, root))
            } else {
                let why = policy.keep != nil && policy.olderThan != nil ? "beyond the newest \(policy.keep!) and older than the limit"
                    : policy.keep != nil ? "beyond the newest \(policy.keep!)" : "older than the limit"
                decisions.append(decision(run, true, why, folder, root))
            }
        }
        decisions.sort { ($0.run.pipeline, $0.run.id) < ($1.run.pipeline, $1.run.id) }
        return RetentionPlan(decisions: decisions)
    }

    /// Removes exactly the runs `ids` (rows and checkpoint folders, the pipeline index repointed)
    /// the way `applyRetention` removes its deletions, with none of the policy's protections:
    /// for a caller that made these runs itself and must take them back out of the history (a
    /// benchmark's timed reruns). Unknown ids are ignored. Returns the number of runs removed.
    @discardableResult
    public func removeRuns(_ ids: [RunID], workspace: URL) throws -> Int {
        let root = workspace.standardizedFileURL
        let decisions = try ids.compactMap { id in
            try run(id).map { decision($0, true, "removed by its creator", Self.checkpointFolder(workspace: root, pipeline: $0.pipeline, run: id), root) }
        }
        return try applyRetention(RetentionPlan(decisions: decisions), workspace: root)
    }

    /// Removes the plan's deletions: each folder is first renamed aside (`.gc-<run>-...`, atomic),
    /// then the run's rows are deleted in one transaction, then the aside folder is removed. A crash
    /// leaves either the run intact, or its rows without a folder (removed by the next gc), and
    /// aside folders that the next gc removes. Returns the number of runs removed.
    @discardableResult
    public func applyRetention(_ plan: RetentionPlan, workspace: URL) throws -> Int {
        let root = workspace.standardizedFileURL
        let fm = FileManager.default
        let checkpoints = root.appendingPathComponent("checkpoints")
        // Leftovers of an interrupted gc.
        for pipeline in (try? fm.contentsOfDirectory(atPath: checkpoints.path)) ?? [] {
            let folder = checkpoints.appendingPathComponent(pipeline)
            for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasPrefix(".gc-") {
                try? fm.removeItem(at: folder.appendingPathComponent(name))
            }
        }
        var removed = 0
        for d in plan.deletions {
            var aside: URL?
            if let folder = Self.checkpointFolder(workspace: root, pipeline: d.run.pipeline, run: d.run.id),
               fm.fileExists(atPath: folder.path) {
                let target = folder.deletingLastPathComponent()
                    .appendingPathComponent(".gc-\(d.run.id)-\(UInt32.random(in: 0 ... .max))")
                try fm.moveItem(at: folder, to: target)
                AtomicFile.syncFolder(folder.deletingLastPathComponent())
                aside = target
            }
            try deleteRun(d.run.id)
            if let aside { try fm.removeItem(at: aside) }
            removed += 1
        }
        let deleted = Set(plan.deletions.map(\.run.id))
        for pipeline in Set(plan.deletions.map(\.run.pipeline)).sorted() {
            try repointPipelineIndex(pipeline, root: root, deleted: deleted)
        }
        return removed
    }

    /// `checkpoints/<pipeline>/index.json` is a copy of the newest publishing run's index (what a
    /// deployment reads). When gc removed that run, it becomes a copy of the newest remaining run
    /// folder's index, or goes when no run folder remains, so it never names deleted packages.
    private func repointPipelineIndex(_ pipeline: String, root: URL, deleted: Set<RunID>) throws {
        guard let folder = Self.pipelineFolder(workspace: root, pipeline: pipeline) else { return }
        let index = folder.appendingPathComponent("index.json")
        guard let data = try? Data(contentsOf: index),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let run = (object["run"] as? NSNumber)?.int64Value, deleted.contains(run) else { return }
        let fm = FileManager.default
        let newest = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? [])
            .compactMap { RunID($0) }
            .filter { !deleted.contains($0) && fm.fileExists(atPath: folder.appendingPathComponent("\($0)/index.json").path) }
            .max()
        if let newest {
            let bytes = try Data(contentsOf: folder.appendingPathComponent("\(newest)/index.json"))
            try AtomicFile.write(Array(bytes), to: index)
        } else {
            try fm.removeItem(at: index)
            AtomicFile.syncFolder(folder)
        }
    }

    private func decision(_ run: RunRecord, _ delete: Bool, _ reason: String, _ folder: URL?, _ root: URL) -> RetentionDecision {
        var exists: URL?
        if let folder, FileManager.default.fileExists(atPath: folder.path) { exists = folder }
        return RetentionDecision(run: run, delete: delete, reason: reason,
                                 folder: exists.map { relative($0, root) }, folderBytes: exists.map(Self.treeBytes) ?? 0)
    }

    private func hasPackage(_ run: RunRecord, root: URL) throws -> Bool {
        if try artifacts(run: run.id).contains(where: { $0.kind == "package" }) { return true }
        guard let folder = Self.checkpointFolder(workspace: root, pipeline: run.pipeline, run: run.id),
              let items = FileManager.default.enumerator(atPath: folder.path) else { return false }
        for case let item as String in items where item.hasSuffix(".sira") { return true }
        return false
    }

    private func resolve(_ path: String, _ root: URL) -> String {
        (path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)).standardizedFileURL.path
    }

    private func relative(_ url: URL, _ root: URL) -> String { Self.relativePath(url, root) }

    static func treeBytes(_ folder: URL) -> Int64 {
        var total: Int64 = 0
        let keys: [URLResourceKey] = [.fileSizeKey, .isRegularFileKey]
        if let items = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: keys) {
            for case let item as URL in items {
                if let v = try? item.resourceValues(forKeys: Set(keys)), v.isRegularFile == true {
                    total += Int64(v.fileSize ?? 0)
                }
            }
        }
        return total
    }
}
