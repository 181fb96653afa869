import Foundation
import SiraPipeline
import SiraStore

/// The table printed when a run ends: each stage with status, attempts and time, then the
/// evaluation metrics per task and variant side by side (the base without an adapter first).
struct RunSummaryPrinter {
    let summary: RunSummary
    let manifest: Manifest
    let workspace: Workspace

    func print() {
        var out = "\n"
        out += "run \(summary.runID) of \(summary.pipeline): \(summary.status.rawValue) in \(ProgressDisplay.duration(summary.seconds))"
        let counts = [StageStatus.succeeded, .cached, .failed, .skipped, .cancelled].compactMap { s -> String? in
            let n = summary.count(s)
            return n > 0 ? "\(n) \(s.rawValue)" : nil
        }
        out += " (" + counts.joined(separator: ", ") + ")\n\n"
        var rows = [["stage", "status", "attempts", "time"]]
        for s in summary.stages {
            rows.append([s.id.description, s.status.rawValue, s.attempts > 0 ? String(s.attempts) : "-",
                         s.status == .cached || s.attempts == 0 ? "-" : ProgressDisplay.duration(s.seconds)])
        }
        out += TextTable(rows[0], rows: Array(rows.dropFirst())).render() + "\n"
        let metricRows = evaluationRows()
        if metricRows.count > 1 {
            out += "\n" + TextTable(metricRows[0], rows: Array(metricRows.dropFirst())).render() + "\n"
        }
        if let error = summary.error { out += "\nfirst failure: \(error)\n" }
        let failedLogs = summary.stages.filter { $0.status == .failed }.map {
            workspace.relative(workspace.logsFolder.appendingPathComponent("\(summary.runID)/\($0.id).\($0.attempts).log"))
        }
        if !failedLogs.isEmpty { out += "logs: " + failedLogs.joined(separator: ", ") + "\n" }
        if summary.stages.contains(where: { $0.id.kind == .package && $0.status.producedOutput }) {
            out += "packages: \(workspace.relative(CheckpointIndex.runFolder(workspace: workspace, pipeline: summary.pipeline, run: summary.runID)))/\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    static let metricColumns: [(key: String, title: String, format: String)] = [
        ("eval.loss", "loss", "%.3f"), ("eval.perplexity", "ppl", "%.2f"),
        ("eval.token_accuracy", "token acc", "%.3f"), ("eval.exact_match", "exact match", "%.3f"),
    ]

    func evaluationRows() -> [[String]] {
        var rows = [["task", "variant"] + Self.metricColumns.map(\.title)]
        let evals = summary.stages.filter { $0.id.kind == .evaluate && !$0.metrics.isEmpty }
        for task in manifest.adaptedTasks.map(\.name) {
            let variants = [StageID.baseVariant] + manifest.adapters.map(\.name)
            for v in variants {
                guard let s = evals.first(where: { $0.id.task == task && $0.id.variant == v }) else { continue }
                rows.append([task, v] + Self.metricColumns.map { c in s.metrics[c.key].map { String(format: c.format, $0) } ?? "-" })
            }
        }
        return rows
    }
}
