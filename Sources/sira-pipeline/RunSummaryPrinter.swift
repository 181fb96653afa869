import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// The table printed when a run ends: each stage with status, attempts and time, then the
/// evaluation metrics per task and variant side by side (the base without an adapter first, the
/// winner starred, seed replicas as mean ± std) and the verdict per task.
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
        let table = comparisonTable()
        if !table.isEmpty {
            out += "\n" + TextTable(table.header, rows: table.rows).render() + "\n"
            if !table.verdicts.isEmpty { out += "\n" + table.verdicts.map { "- " + $0 }.joined(separator: "\n") + "\n" }
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

    /// The evaluations of this run (cached ones included) side by side: seed replicas folded into
    /// mean ± std, each task's winner starred, the verdict per task.
    func comparisonTable() -> ComparisonTable {
        var results: [EvaluationResult] = []
        var parameters: [String: Double] = [:]
        for s in summary.stages {
            if s.id.kind == .evaluate, let task = s.id.task, let variant = s.id.variant, !s.metrics.isEmpty {
                results.append(EvaluationResult(task: task, variant: variant, metrics: s.metrics))
            }
            if s.id.kind == .train, let variant = s.id.variant, let n = s.metrics["train.adapter_parameters"] {
                parameters[VariantName(parsing: variant).variant] = n
            }
        }
        var kinds: [String: String] = [:]
        for v in manifest.adapters { kinds[VariantName(parsing: v.name).variant] = v.kind.rawValue }
        var evaluated: [String] = []
        for s in summary.stages where s.id.kind == .evaluate { if let t = s.id.task, !evaluated.contains(t) { evaluated.append(t) } }
        return ComparisonTable(Comparison(results: results, architectures: kinds), parameters: parameters, evaluatedTasks: evaluated)
    }
}
