import SiraPipeline
import SiraStages
import SiraStore
/// The verdict sentences and the comparison tables of the report.
extension RunReport {
    func verdictSection() -> String {
        let verdicts = comparison.verdicts
        guard !verdicts.isEmpty else {
            return "<p class=\"muted\">No evaluation results in this run.</p>\n"
        }
        var out = "<ul class=\"verdicts\">\n"
        for v in verdicts {
            let cls = v.sira == nil ? "" : (v.siraWins ? " class=\"sira-wins\"" : " class=\"sira-loses\"")
            out += "<li\(cls)>\(HTML.escape(v.sentence))</li>\n"
        }
        out += "</ul>\n"
        let seeds = Set(comparison.tasks.flatMap { t in comparison.variants.map { comparison.seeds(task: t, variant: $0, metric: .loss).count } })
        if let n = seeds.max(), n > 1 {
            out += "<p class=\"note\">Values are mean ± sample standard deviation over seed replicas (up to \(n) per variant). A margin no larger than the larger standard deviation is called within the seeds' spread.</p>\n"
        } else {
            out += "<p class=\"note\">Each variant was trained once: no spread over seeds is known, so small margins may be noise.</p>\n"
        }
        return out
    }

    /// One table per metric: a row per task, a column per variant; the best contender of each row
    /// is marked (★, bold). The deciding metric of a task is marked in its row header.
    func comparisonSection() -> String {
        let metrics = EvaluationMetric.all.filter { m in
            comparison.tasks.contains { t in comparison.variants.contains { comparison.summary(task: t, variant: $0, metric: m) != nil } }
        }
        guard !metrics.isEmpty else { return "<p class=\"muted\">No evaluation results in this run.</p>\n" }
        var out = "<p class=\"note\">★ marks the best adapter per task (the base without adapter is shown for reference and does not compete). "
        out += "The deciding metric per task is exact match where every adapter has it, otherwise eval loss; it is marked ◆.</p>\n"
        out += "<div class=\"tables\">\n"
        for metric in metrics {
            out += "<table class=\"comparison\">\n<caption>\(HTML.escape(metric.title)) <span class=\"muted\">(\(metric.higherIsBetter ? "higher" : "lower") is better)</span></caption>\n"
            out += "<thead><tr><th>task</th>" + comparison.variants.map { "<th>\(variantLabel($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            for task in comparison.tasks {
                let deciding = comparison.decidingMetric(task: task) == metric
                let best = bestContender(task: task, metric: metric)
                out += "<tr><th scope=\"row\">\(HTML.escape(task))\(deciding ? " <span class=\"deciding\" title=\"deciding metric\">◆</span>" : "")</th>"
                for v in comparison.variants {
                    guard let s = comparison.summary(task: task, variant: v, metric: metric) else {
                        out += "<td class=\"empty\">–</td>"
                        continue
                    }
                    let isBest = best.contains(v)
                    var cell = HTML.escape(s.formatted(metric))
                    if s.missing > 0 { cell += " <span class=\"muted\">(\(s.missing) non-finite left out)</span>" }
                    out += "<td\(isBest ? " class=\"win\"" : (v == StageID.baseVariant ? " class=\"base\"" : ""))>\(isBest ? "★ " : "")\(cell)</td>"
                }
                out += "</tr>\n"
            }
            out += "</tbody>\n</table>\n"
        }
        out += "</div>\n"
        let sized = comparison.variants.compactMap { v in data.parameters[v].map { (v, $0) } }
        if !sized.isEmpty {
            out += "<p class=\"note\">Trainable adapter parameters: " + sized.map { "\(HTML.escape($0.0)) \(MetricFormat.number($0.1))" }.joined(separator: " · ") + ".</p>\n"
        }
        return out
    }

    /// The contenders with the best mean for one metric (several on an exact tie).
    func bestContender(task: String, metric: EvaluationMetric) -> Set<String> {
        let scored = comparison.contenders(task: task).compactMap { v in comparison.summary(task: task, variant: v, metric: metric).map { (v, $0.mean) } }
        guard let best = scored.map(\.1).min(by: { metric.isBetter($0, than: $1) }) else { return [] }
        // A metric on which every adapter is equal (all 0.000 exact match) marks no one best.
        if scored.count > 1, scored.allSatisfy({ $0.1 == best }) { return [] }
        return Set(scored.filter { $0.1 == best }.map(\.0))
    }
}
