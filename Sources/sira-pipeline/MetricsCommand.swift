import ArgumentParser
import Foundation
import SiraStore

/// `sira-pipeline metrics RUN KEY`: one metric's series (step, value, time) per task and variant.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print a metric's series for a run (per task and variant).")

    @Argument(help: "The run id, or `latest`.") var runID: String
    @Argument(help: "The metric key, e.g. loss, eval_loss, exact_match.") var key: String
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Only this adapter variant.") var variant: String?
    @OptionGroup var options: HistoryOptions

    func run() throws {
        try reportingFailures {
            let store = try options.requireStore()
            let id = try resolveRunID(runID, in: store)
            _ = try store.requireRun(id)
            let series = try store.metricSeries(run: id, key: key, task: task, variant: variant)
            if series.isEmpty {
                let known = Set(try store.metrics(run: id).map(\.key)).sorted()
                throw CLIFailure("run \(id) has no metric '\(key)'" + (task.map { " for task \($0)" } ?? "")
                                 + (variant.map { " variant \($0)" } ?? "")
                                 + (known.isEmpty ? " (it recorded no metrics)" : " (it has: \(known.joined(separator: ", ")))"))
            }
            if options.json {
                try printJSON(series)
                return
            }
            print(TextTable(["task", "variant", "step", key, "time"], rows: series.map {
                [$0.task ?? "-", $0.variant ?? "-", $0.step.map(String.init) ?? "final", formatValue($0.value), TimeSpec.format($0.time)]
            }).render())
        }
    }
}
