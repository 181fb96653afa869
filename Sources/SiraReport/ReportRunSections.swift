import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// The router, timeline and previous-run sections of the report.
extension RunReport {
    func routerSection() -> String {
        guard !data.routers.isEmpty || !data.evalRouters.isEmpty else {
            return "<p class=\"muted\">No router statistics: no SiRA adapter was trained in this run.</p>\n"
        }
        let cells = "Cells: share of each layer's top-k assignments routed to each expert (all adapted projections of the layer together). Right: fraction of assignments dropped because their expert was over capacity, and mean routing entropy (nats)."
        var out = ""
        if !data.evalRouters.isEmpty {
            out += "<h3>On the eval split</h3>\n<p class=\"note\">What each adapter does at inference: its forwards over the task's eval split, under the evaluation capacity (<code>eval_capacity_factor</code>; unlimited by default, so nothing is dropped). \(cells)</p>\n"
            out += routerGrid(data.evalRouters)
        }
        if !data.routers.isEmpty {
            out += "<h3>During training</h3>\n<p class=\"note\">Measured over all training steps, under the training capacity and expert dropout. \(cells)</p>\n"
            out += routerGrid(data.routers)
        }
        return out
    }

    /// One heatmap per (task, variant), seed replicas averaged.
    private func routerGrid(_ routers: [ReportRouter]) -> String {
        var out = "<div class=\"charts\">\n"
        for (r, replicas) in ReportRouter.averagedOverSeeds(routers) {
            var title = r.task.map { "\($0) · \(r.variant)" } ?? "\(r.variant) (task mixture)"
            if replicas > 1 { title += " (mean of \(replicas) seeds)" }
            out += "<figure class=\"router\"><figcaption>\(HTML.escape(title))"
            var totals: [String] = []
            if let d = r.totalDropped { totals.append("dropped \(SVGRouterHeatmap.percent(d)) overall") }
            if let e = r.totalEntropy { totals.append(String(format: "entropy %.3f nats", e)) }
            if !totals.isEmpty { out += " <span class=\"muted\">\(HTML.escape(totals.joined(separator: ", ")))</span>" }
            out += "</figcaption>\n" + SVGRouterHeatmap(router: r).render()
            if r.experts > 0 {
                let e = r.experts
                out += "<div class=\"note\">" + HTML.escape(String(format: "%d experts: uniform routing gives each %@ and entropy ln %d = %.2f nats", e, SVGRouterHeatmap.percent(1 / Double(e)), e, log(Double(e)))) + "</div>"
            }
            out += "\n</figure>\n"
        }
        return out + "</div>\n"
    }

    func timelineSection() -> String {
        let run = data.detail.run
        let stages = data.detail.stages.sorted { a, b in
            ((a.startedAt ?? a.finishedAt ?? .distantFuture), a.id) < ((b.startedAt ?? b.finishedAt ?? .distantFuture), b.id)
        }
        let start = run.startedAt ?? stages.compactMap(\.startedAt).min() ?? run.createdAt
        let end = run.finishedAt ?? stages.compactMap { $0.finishedAt }.max() ?? data.generatedAt
        var out = "<p class=\"legend-row\">" + ["succeeded", "cached", "failed", "cancelled", "skipped"].map {
            "<span class=\"swatch\" style=\"background:\(ReportPalette.status($0))\"></span>\($0)"
        }.joined(separator: " ") + " <span class=\"muted\">(◆: too short to draw as a bar — cached stages take no time)</span></p>\n"
        out += SVGTimeline(stages: stages, runStart: start, runEnd: end).render() + "\n"
        let failures = StageAttempts.latest(data.detail.stages).filter { $0.error != nil && ($0.status == .failed || $0.status == .crashed) }
        if !failures.isEmpty {
            out += "<ul class=\"failures\">" + failures.map { "<li><b>\(HTML.escape($0.stage))</b>: \(HTML.escape($0.error ?? ""))</li>" }.joined() + "</ul>\n"
        }
        return out
    }

    /// Each (task, variant) of either run as a row, each metric as `before → now (change)`,
    /// the change coloured by direction (green: better, red: worse).
    func previousSection() -> String {
        guard let prev = data.previous else {
            return "<p class=\"muted\">This is the first recorded run of \(HTML.escape(data.detail.run.pipeline)).</p>\n"
        }
        let before = Comparison(results: data.previousEvaluations, architectures: data.architectures)
        var out = "<p>Previous run: <b>run \(prev.run.id)</b> (\(HTML.escape(prev.run.status.rawValue)), started \(HTML.escape(prev.run.startedAt.map(PackageManifest.timestamp) ?? "–")), "
        out += "duration \(HTML.escape(prev.run.duration(now: data.generatedAt).map(SVGTimeline.duration) ?? "–"))"
        if prev.run.manifestHash != data.detail.run.manifestHash { out += "; the manifest changed since" }
        out += "). Each cell: run \(prev.run.id) → run \(data.detail.run.id) (change).</p>\n"
        var tasks = comparison.tasks
        for t in before.tasks where !tasks.contains(t) { tasks.append(t) }
        var variants = comparison.variants
        for v in before.variants where !variants.contains(v) { variants.append(v) }
        let metrics = EvaluationMetric.all.filter { m in
            tasks.contains { t in variants.contains { before.summary(task: t, variant: $0, metric: m) != nil || comparison.summary(task: t, variant: $0, metric: m) != nil } }
        }
        var rows = ""
        for task in tasks {
            for variant in variants {
                let cells = metrics.map { ($0, before.summary(task: task, variant: variant, metric: $0), comparison.summary(task: task, variant: variant, metric: $0)) }
                guard cells.contains(where: { $0.1 != nil || $0.2 != nil }) else { continue }
                rows += "<tr><td>\(HTML.escape(task))</td><td>\(variantLabel(variant))</td>"
                for (metric, a, b) in cells {
                    var change = "", cls = ""
                    if let a, let b {
                        let d = b.mean - a.mean
                        change = d == 0 ? " (=)" : " (\(MetricFormat.signed(d, metric)))"
                        if d != 0 { cls = metric.isBetter(b.mean, than: a.mean) ? " class=\"better\"" : " class=\"worse\"" }
                    } else if a == nil, b != nil {
                        change = " (new)"
                    } else if a != nil {
                        change = " (gone)"
                    }
                    let text = "\(a.map { MetricFormat.value($0.mean, metric) } ?? "–") → \(b.map { MetricFormat.value($0.mean, metric) } ?? "–")\(change)"
                    rows += "<td\(cls)>\(HTML.escape(text))</td>"
                }
                rows += "</tr>\n"
            }
        }
        if rows.isEmpty {
            out += "<p class=\"muted\">Neither run has evaluation results.</p>\n"
        } else {
            out += "<table class=\"changes\">\n<thead><tr><th>task</th><th>variant</th>" + metrics.map { "<th>\(HTML.escape($0.title))</th>" }.joined()
            out += "</tr></thead>\n<tbody>\n\(rows)</tbody>\n</table>\n"
            out += "<p class=\"note\">Means over seed replicas; see the comparison above for the spread.</p>\n"
        }
        return out
    }
}
