import SiraPipeline
import SiraStore

/// The comparison as a plain table, for the end of `run` and for `show`: per task the base
/// first, then the adapters best first under the task's deciding metric, seed replicas folded
/// into mean ± std, the winner starred, and every other adapter's distance to the winner on
/// the deciding metric (negative: worse), so a loss reads as plainly as a win.
public struct ComparisonTable: Sendable {
    public var header: [String]
    public var rows: [[String]]
    /// One sentence per task (`TaskVerdict.sentence`).
    public var verdicts: [String]

    /// `parameters`: trainable adapter weights per variant (seed suffix removed), shown when known.
    /// `evaluatedTasks`: the tasks that had evaluate stages; one without any result gets
    /// `Comparison.notEvaluated` as its verdict.
    public init(_ c: Comparison, parameters: [String: Double] = [:], evaluatedTasks: [String] = []) {
        let metrics = EvaluationMetric.all.filter { m in
            c.tasks.contains { t in c.variants.contains { c.summary(task: t, variant: $0, metric: m) != nil } }
        }
        let showParameters = !parameters.isEmpty
        header = ["task", "variant", "kind", "seeds"] + (showParameters ? ["params"] : []) + metrics.map(\.title) + ["vs winner"]
        rows = []
        for task in c.tasks {
            let deciding = c.decidingMetric(task: task)
            let ranked = c.ranking(task: task)
            let winner = ranked.first.flatMap { w in deciding.flatMap { c.summary(task: task, variant: w, metric: $0) } }
            let hasBase = EvaluationMetric.all.contains { c.summary(task: task, variant: StageID.baseVariant, metric: $0) != nil }
            let order = (hasBase ? [StageID.baseVariant] : []) + ranked
            for v in order {
                let replicas = c.seeds(task: task, variant: v, metric: deciding ?? .loss).count
                var row = [task, v == ranked.first ? "★ \(v)" : v, v == StageID.baseVariant ? "-" : c.architectures[v] ?? "-",
                           replicas > 0 ? String(replicas) : "-"]
                if showParameters { row.append(v == StageID.baseVariant ? "0" : parameters[v].map(MetricFormat.number) ?? "-") }
                for m in metrics { row.append(c.summary(task: task, variant: v, metric: m)?.formatted(m) ?? "-") }
                var distance = "-"
                if let deciding, let winner, let s = c.summary(task: task, variant: v, metric: deciding) {
                    if v == ranked.first {
                        distance = "winner (\(deciding.title))"
                    } else {
                        let d = deciding.higherIsBetter ? s.mean - winner.mean : winner.mean - s.mean
                        distance = MetricFormat.signed(d, deciding)
                    }
                }
                row.append(distance)
                rows.append(row)
            }
        }
        let decided = c.verdicts
        verdicts = decided.map(\.sentence) + evaluatedTasks.filter { t in !decided.contains { $0.task == t } }.map(Comparison.notEvaluated)
    }

    public var isEmpty: Bool { rows.isEmpty }
}

extension Comparison {
    /// The comparison of a recorded run: its final evaluation metrics, architectures from the
    /// run's parameters (`adapters.<name>.kind`).
    public init(detail: RunDetail) {
        self.init(results: Comparison.evaluations(detail.finalMetrics), architectures: Comparison.architectures(detail.params))
    }

    /// Trainable adapter weights per variant (seed suffix removed) from a run's final metrics.
    public static func adapterParameters(_ final: [MetricPoint]) -> [String: Double] {
        var out: [String: Double] = [:]
        for p in final where p.key == "train.adapter_parameters" {
            if let v = p.variant { out[VariantName(parsing: v).variant] = p.value }
        }
        return out
    }
}
