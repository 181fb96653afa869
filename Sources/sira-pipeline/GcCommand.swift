import ArgumentParser
import Foundation
import SiraStore

/// `sira-pipeline gc --keep N | --older-than D`: retention over `checkpoints/<pipeline>/<run>/`
/// and the runs' database rows. Never deletes live runs or the newest successful package of a
/// pipeline (see `RunStore.planRetention`).
struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove old runs and their checkpoint folders; the newest successful package of each pipeline always stays.")

    @Option(help: "Keep the newest N runs of each pipeline.") var keep: Int?
    @Option(help: "Remove runs older than this: 90s, 30m, 12h, 7d, 2w.") var olderThan: String?
    @Option(help: "Only this pipeline.") var pipeline: String?
    @Flag(help: "Show what would be removed, remove nothing.") var dryRun = false
    @OptionGroup var options: HistoryOptions

    func validate() throws {
        guard keep != nil || olderThan != nil else { throw ValidationError("give --keep N, --older-than D, or both") }
        if let keep, keep < 0 { throw ValidationError("--keep must be 0 or more") }
    }

    func run() throws {
        try reportingFailures {
            var age: TimeInterval?
            if let olderThan {
                do { age = try TimeSpec.duration(olderThan) } catch { throw CLIFailure("--older-than: \(error)") }
            }
            guard let store = try options.openStore() else {
                print("nothing to collect: no data/runs.sqlite in \(options.workspaceURL.path)")
                return
            }
            let plan = try store.planRetention(RetentionPolicy(keep: keep, olderThan: age, pipeline: pipeline),
                                               workspace: options.workspaceURL)
            if !dryRun { try store.applyRetention(plan, workspace: options.workspaceURL) }
            if options.json {
                try printJSON(GcReport(dryRun: dryRun, decisions: plan.decisions, bytesFreed: plan.bytesToFree))
                return
            }
            if plan.decisions.isEmpty {
                print("nothing to collect")
                return
            }
            print(TextTable(["run", "pipeline", "status", "created", "action", "folder", "size", "reason"], rows: plan.decisions.map { d in
                [String(d.run.id), d.run.pipeline, d.run.status.rawValue, TimeSpec.format(d.run.createdAt),
                 d.delete ? (dryRun ? "would remove" : "removed") : "kept", d.folder ?? "-",
                 formatBytes(d.folderBytes), d.reason]
            }).render())
            let n = plan.deletions.count
            print("\(dryRun ? "would remove" : "removed") \(n) run\(n == 1 ? "" : "s"), \(formatBytes(plan.bytesToFree))")
        }
    }
}

struct GcReport: Encodable {
    var dryRun: Bool
    var decisions: [RetentionDecision]
    var bytesFreed: Int64
}
