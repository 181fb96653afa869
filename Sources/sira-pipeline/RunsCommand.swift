import ArgumentParser
import Foundation
import SiraStore

/// `sira-pipeline runs`: the run history as a table, newest first.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List recorded runs, newest first.")

    @OptionGroup var selection: PipelineOption
    @Option(help: "Only runs with this status (queued, running, succeeded, failed, cancelled, crashed).") var status: String?
    @Option(help: "Only runs created since then: 2025-01-31, 2025-01-31T02:00, ISO 8601, or 7d / 12h ago.") var since: String?
    @Option(help: "At most this many runs.") var limit: Int?
    @OptionGroup var options: HistoryOptions

    func run() throws {
        try reportingFailures {
            var filter = RunFilter(pipeline: selection.pipeline, limit: limit)
            if let status {
                guard let s = RunStatus(rawValue: status) else {
                    throw CLIFailure("--status '\(status)' is not one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.status = s
            }
            if let since { filter.since = try parseOption("--since") { try TimeSpec.instant(since) } }
            let store = try options.openStore()
            let runs = try store?.runs(filter) ?? []
            let summaries = try store?.stageSummaries(runs: runs.map(\.id)) ?? [:]
            if options.json {
                try printJSON(runs.map { RunListing(run: $0, stages: summaries[$0.id] ?? StageSummary()) })
                return
            }
            if runs.isEmpty {
                print("no runs" + (store == nil ? " (no data/runs.sqlite in \(options.workspaceURL.path))" : " match"))
                return
            }
            print(TextTable(["run", "pipeline", "status", "trigger", "created", "duration", "stages", "error"], rows: runs.map { r in
                let s = summaries[r.id] ?? StageSummary()
                return ["\(r.id)", r.pipeline, r.status.rawValue, r.trigger, TimeSpec.format(r.createdAt),
                        r.duration().map(TimeSpec.format(duration:)) ?? "-", s.text, String((r.error ?? "").prefix(60))]
            }).render())
        }
    }
}

/// One line of `runs --json`.
struct RunListing: Encodable {
    var run: RunRecord
    var stages: StageSummary
}

extension StageSummary {
    /// `12 (5 cached, 1 failed)`.
    var text: String {
        guard total > 0 else { return "-" }
        var notes: [String] = []
        for status in [StageStatus.cached, .failed, .crashed, .cancelled, .skipped, .running, .queued] {
            if let n = counts[status.rawValue], n > 0 { notes.append("\(n) \(status.rawValue)") }
        }
        return notes.isEmpty ? "\(total)" : "\(total) (\(notes.joined(separator: ", ")))"
    }
}
