import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// `sira-pipeline metrics RUN KEY`: one metric's series (step, value, time) per task and variant.
/// A stage the run took from the cache recorded nothing in this run; its series comes from the
/// run that produced the output (the `run` column says which), as the report's curves do.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print a metric's series for a run (per task and variant).")

    @Argument(help: "The run id, or `latest`.") var runID: String
    @Argument(help: "The metric key, e.g. train.loss, eval.loss, eval.exact_match, router.entropy.") var key: String
    @Option(help: "Only this task.") var task: String?
    @Option(help: "Only this adapter variant.") var variant: String?
    @OptionGroup var options: HistoryOptions

    func run() throws {
        try reportingFailures {
            let store = try options.requireStore()
            let id = try resolveRunID(runID, in: store)
            _ = try store.requireRun(id)
            var series = try store.metricSeries(run: id, key: key, task: task, variant: variant)
            struct Owner: Hashable { var task: String?, variant: String? }
            let recorded = Set(series.map { Owner(task: $0.task, variant: $0.variant) })
            for (stage, producer) in try CachedStageProducers.of(try store.requireDetail(id), store: store) {
                guard !recorded.contains(Owner(task: stage.task, variant: stage.variant)), producer.runID != id else { continue }
                series += try store.metricSeries(run: producer.runID, key: key, task: task, variant: variant)
                    .filter { $0.stageRunID == producer.id }
            }
            if series.contains(where: { $0.runID != id }) {
                series.sort { ($0.task ?? "", $0.variant ?? "", $0.step ?? .max, $0.time) < ($1.task ?? "", $1.variant ?? "", $1.step ?? .max, $1.time) }
            }
            if series.isEmpty {
                let known = Set(try store.metrics(run: id).map(\.key)).sorted()
                throw CLIFailure("run \(id) has no metric '\(key)'" + (task.map { " for task \($0)" } ?? "")
                                 + (variant.map { " variant \($0)" } ?? "")
                                 + MetricKeyHint.message(for: key, known: known))
            }
            if options.json {
                try printJSON(series)
                return
            }
            let borrowed = series.contains { $0.runID != id }
            print(TextTable(["task", "variant", "step", key, "time"] + (borrowed ? ["run"] : []), rows: series.map {
                [$0.task ?? "-", $0.variant ?? "-", $0.step.map(String.init) ?? "final", formatValue($0.value), TimeSpec.format($0.time)]
                    + (borrowed ? [String($0.runID)] : [])
            }).render())
            if borrowed { print("(run: the run that recorded the point; run \(id) reused its output from the cache)") }
        }
    }
}
