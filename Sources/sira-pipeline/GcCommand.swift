import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// `sira-pipeline gc --keep N | --older-than D`: retention over `checkpoints/<pipeline>/<run>/`
/// and the runs' database rows, then the stage outputs in `data/cache` and the per-run logs that
/// no remaining run uses. Never deletes live runs, the newest successful package of a pipeline
/// (see `RunStore.planRetention`), or anything in `data/cache` while a scheduler holds the
/// workspace (see `RunStore.planUnusedFolders`).
struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove old runs, their checkpoint folders and the cached stage outputs no kept run uses; the newest successful package of each pipeline always stays.")

    @Option(help: "Keep the newest N runs of each pipeline.") var keep: Int?
    @Option(help: "Remove runs older than this: 90s, 30m, 12h, 7d, 2w.") var olderThan: String?
    @OptionGroup var selection: PipelineOption
    @Flag(help: "Show what would be removed, remove nothing.") var dryRun = false
    @OptionGroup var options: HistoryOptions

    func validate() throws {
        guard keep != nil || olderThan != nil else { throw ValidationError("give --keep N, --older-than D, or both") }
        if let keep, keep < 0 { throw ValidationError("--keep must be 0 or more") }
    }

    func run() throws {
        try reportingFailures {
            let age = try olderThan.map { text in try parseOption("--older-than") { try TimeSpec.duration(text) } }
            guard let store = try options.openStore() else {
                print("nothing to collect: no data/runs.sqlite in \(options.workspaceURL.path)")
                return
            }
            let root = options.workspaceURL
            let plan = try store.planRetention(RetentionPolicy(keep: keep, olderThan: age, pipeline: selection.pipeline), workspace: root)
            // Unused stage outputs and per-run files are examined only with the scheduler lock
            // held: then no run is writing into data/cache while gc decides.
            var folders = UnusedFolderPlan()
            var lock: WorkspaceLock?
            do {
                lock = try WorkspaceLock(workspace: Workspace(root: root), command: "sira-pipeline gc")
                folders = try store.planUnusedFolders(workspace: root, removingRuns: Set(plan.deletions.map(\.run.id)))
            } catch let busy as WorkspaceBusy {
                folders.cacheSkipped = "data/cache, data/logs and data/slurm left alone: \(busy)"
            }
            defer { lock?.release() }
            let removed = plan.deletions.compactMap { $0.folder.map { root.appendingPathComponent($0) } }
                + folders.folders.map { root.appendingPathComponent($0.path) }
            let freed = FreedBytes.removing(removed)
            if !dryRun {
                try store.applyRetention(plan, workspace: root)
                try store.removeUnusedFolders(folders, workspace: root)
            }
            if options.json {
                try printJSON(GcReport(dryRun: dryRun, decisions: plan.decisions, folders: folders.folders,
                                       skipped: folders.cacheSkipped, bytesFreed: freed))
                return
            }
            if let skipped = folders.cacheSkipped { print(skipped) }
            if plan.decisions.isEmpty && folders.folders.isEmpty {
                print("nothing to collect")
                return
            }
            let action = dryRun ? "would remove" : "removed"
            if !plan.decisions.isEmpty {
                print(TextTable(["run", "pipeline", "status", "created", "action", "folder", "size", "reason"], rows: plan.decisions.map { d in
                    [String(d.run.id), d.run.pipeline, d.run.status.rawValue, TimeSpec.format(d.run.createdAt),
                     d.delete ? action : "kept", d.folder ?? "-", formatBytes(d.folderBytes), d.reason]
                }).render())
            }
            if !folders.folders.isEmpty {
                print(TextTable(["folder", "size", "action", "reason"], rows: folders.folders.map {
                    [$0.path, formatBytes($0.bytes), action, $0.reason]
                }).render())
            }
            let n = plan.deletions.count, f = folders.folders.count
            print("\(action) \(n) run\(n == 1 ? "" : "s") and \(f) unused folder\(f == 1 ? "" : "s"): \(formatBytes(freed)) freed"
                  + (dryRun ? " (dry run)" : ""))
        }
    }
}

/// `gc --json`. `bytesFreed` counts a hard-linked file once, and only when all its links go.
struct GcReport: Encodable {
    var dryRun: Bool
    var decisions: [RetentionDecision]
    var folders: [UnusedFolder]
    var skipped: String?
    var bytesFreed: Int64
}
