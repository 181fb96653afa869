import SiraPipeline
import SiraStages
import SiraStore
/// Loss curves: one chart per task with each variant's training loss (solid) and eval loss
/// during training (dashed), seed replicas averaged step by step; the multitask adapter's training
/// loss over the task mixture and the base model's pretraining get charts of their own.
extension RunReport {
    func curvesSection() -> String {
        let series = data.series
        guard !series.isEmpty else {
            return "<p class=\"muted\">No per-step losses recorded for this run or the runs its cached stages came from.</p>\n"
        }
        var charts: [(title: String, note: String?, lines: [SVGLineChart.Line])] = []
        var replicas = 1
        var tasks: [String] = comparison.tasks
        for s in series { if let t = s.task, !tasks.contains(t) { tasks.append(t) } }

        for task in tasks {
            var lines: [SVGLineChart.Line] = []
            // Per-task adapters: train loss and eval loss of train@task:variant.
            for (variant, group) in grouped(series.filter { $0.task == task && $0.variant != nil }) {
                for key in [SeriesKey.trainLoss, SeriesKey.evalLoss] {
                    let list = group.filter { $0.key == key }
                    replicas = max(replicas, list.count)
                    if let line = averagedLine(list, variant: variant, dashed: key == SeriesKey.evalLoss) { lines.append(line) }
                }
            }
            // Multitask adapters' eval loss on this task.
            for (variant, group) in grouped(series.filter { $0.task == nil && $0.variant != nil }) {
                let list = group.filter { $0.key == SeriesKey.evalLoss(task: task) }
                replicas = max(replicas, list.count)
                if let line = averagedLine(list, variant: variant, dashed: true) { lines.append(line) }
            }
            if !lines.isEmpty { charts.append((task, replicas > 1 ? "mean of \(replicas) seeds per variant" : nil, lines)) }
            replicas = 1
        }
        for (variant, group) in grouped(series.filter { $0.task == nil && $0.variant != nil }) {
            if let line = averagedLine(group.filter { $0.key == SeriesKey.trainLoss }, variant: variant, dashed: false) {
                charts.append(("\(variant) — task mixture", "training loss over the mixture of tasks", [line]))
            }
        }
        let pretraining = series.filter { $0.task == nil && $0.variant == nil && $0.key == SeriesKey.trainLoss }
        if let p = pretraining.first {
            charts.append(("base model pretraining", "the built-in base, before any adapter",
                           [SVGLineChart.Line(label: "pretraining loss", colour: ReportPalette.base, steps: p.steps, values: p.values)]))
        }
        var out = "<p class=\"note\">Solid: training loss per step (completion tokens). Dashed: eval-split loss measured during training. Seed replicas are averaged at the steps they share.</p>\n"
        out += "<div class=\"charts\">\n"
        for c in charts {
            out += "<figure class=\"chart\"><figcaption>\(HTML.escape(c.title))"
            if let note = c.note { out += " <span class=\"muted\">\(HTML.escape(note))</span>" }
            out += "</figcaption>\n" + SVGLineChart(lines: c.lines).render() + "\n</figure>\n"
        }
        return out + "</div>\n"
    }

    /// Series grouped by manifest variant (seed suffix removed), in first-seen order.
    func grouped(_ series: [ReportSeries]) -> [(String, [ReportSeries])] {
        var order: [String] = [], groups: [String: [ReportSeries]] = [:]
        for s in series {
            let v = VariantName(parsing: s.variant ?? "").variant
            if groups[v] == nil { order.append(v) }
            groups[v, default: []].append(s)
        }
        return order.map { ($0, groups[$0]!) }
    }

    /// The step-wise mean of the replicas over the steps all of them recorded.
    func averagedLine(_ replicas: [ReportSeries], variant: String, dashed: Bool) -> SVGLineChart.Line? {
        guard let first = replicas.first else { return nil }
        var steps = first.steps
        var sums = first.values
        if replicas.count > 1 {
            let maps = replicas.map { Dictionary(zip($0.steps, $0.values), uniquingKeysWith: { $1 }) }
            steps = first.steps.filter { s in maps.allSatisfy { $0[s] != nil } }
            sums = steps.map { s in maps.reduce(0) { $0 + $1[s]! } / Double(maps.count) }
        }
        guard !steps.isEmpty else { return nil }
        let label = "\(variant) \(dashed ? "eval" : "train")"
        return SVGLineChart.Line(label: label, colour: colours[variant] ?? ReportPalette.base, dashed: dashed, steps: steps, values: sums)
    }
}
