import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// `sira-pipeline show RUN`: one run's stages (status, duration, cache hits), the comparison of
/// its evaluated variants (winner per task and by how much) and its packages. `--all` adds every
/// final metric per task and variant (hundreds of router loads on a SiRA run), every artifact
/// and the events; `--json` has everything.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a run: stages with status, duration and cache hits; metrics per task and variant.")

    @Argument(help: "The run id (see `sira-pipeline runs`), or `latest`.") var runID: String
    @Flag(help: "Also print every final metric, every artifact and the run's events.") var all = false
    @OptionGroup var options: HistoryOptions

    func run() throws {
        try reportingFailures {
            let store = try options.requireStore()
            let id = try resolveRunID(runID, in: store)
            let detail = try store.requireDetail(id)
            if options.json {
                try printJSON(detail)
                return
            }
            print(Self.render(detail, full: all))
        }
    }

    static func render(_ d: RunDetail, full: Bool = false) -> String {
        let r = d.run
        var out: [String] = []
        out.append("run \(r.id)  \(r.pipeline)  \(r.status.rawValue)  (trigger \(r.trigger), \(r.host) pid \(r.pid))")
        var times = "created \(TimeSpec.format(r.createdAt))"
        if let s = r.startedAt { times += "  started \(TimeSpec.format(s))" }
        if let f = r.finishedAt { times += "  finished \(TimeSpec.format(f))" }
        if let dur = r.duration() { times += "  duration \(TimeSpec.format(duration: dur))" }
        out.append(times)
        out.append("manifest \(r.manifestHash)")
        if let e = r.error { out.append("error: \(e)") }

        out.append("")
        if d.stages.isEmpty {
            out.append("no stages recorded")
        } else {
            out.append(TextTable(["stage", "attempt", "status", "duration", "cache", "executor", "error"], rows: d.stages.map { s in
                let cache = s.status == .cached ? "hit" : (s.cacheKey == nil ? "-" : "miss")
                var executor = s.executor
                if let ext = s.externalID { executor += " \(ext)" }
                return [s.stage, "\(s.attempt)", s.status.rawValue, s.duration.map(TimeSpec.format(duration:)) ?? "-",
                        cache, executor, String((s.error ?? "").prefix(60))]
            }).render())
            let latest = Dictionary(d.stages.map { ($0.stage, $0) }, uniquingKeysWith: { $1 })
            let hits = latest.values.filter { $0.status == .cached }.count
            let failed = latest.values.filter { $0.status == .failed || $0.status == .crashed }.count
            out.append("\(latest.count) stages, \(hits) from cache, \(failed) failed, \(d.stages.count) attempts")
        }

        let comparison = ComparisonTable(Comparison(detail: d), parameters: Comparison.adapterParameters(d.finalMetrics))
        if !comparison.isEmpty {
            out.append("")
            out.append("comparison (★ the adapter a bundle ships for the task; mean ± std over seeds)")
            out.append(TextTable(comparison.header, rows: comparison.rows).render())
            out.append(contentsOf: comparison.verdicts.map { "- " + $0 })
        }
        if full, !d.finalMetrics.isEmpty {
            out.append("")
            out.append("metrics (final values per task and variant)")
            out.append(contentsOf: metricTables(d.finalMetrics))
        }
        let packages = d.artifacts.filter { $0.kind == "package" }
        let shown = full ? packages + d.artifacts.filter { $0.kind != "package" } : packages
        if !shown.isEmpty {
            out.append("")
            out.append(TextTable(["artifact", "kind", "bytes", "sha256"], rows: shown.map {
                [$0.path, $0.kind, "\($0.bytes)", String($0.sha256.prefix(16))]
            }).render())
        }
        if !full {
            let keys = Set(d.finalMetrics.map(\.key)).count
            let more = [(keys, "metric keys"), (d.artifacts.count - packages.count, "other artifacts"), (d.events.count, "events")]
                .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
            if !more.isEmpty { out.append("\n(--all adds " + more.joined(separator: ", ") + ")") }
            return out.joined(separator: "\n")
        }
        if !d.events.isEmpty {
            out.append("")
            out.append("events")
            for e in d.events.suffix(20) { out.append("  \(TimeSpec.format(e.time))  \(e.level.rawValue)  \(e.message)") }
            if d.events.count > 20 { out.append("  (\(d.events.count - 20) earlier events: --json shows all)") }
        }
        return out.joined(separator: "\n")
    }

    /// Rows task × variant, columns metric keys (at most 6 per table, so it fits a terminal).
    static func metricTables(_ points: [MetricPoint]) -> [String] {
        let keys = Array(Set(points.map(\.key))).sorted()
        var rowsByTV: [String: [String: MetricPoint]] = [:]
        var order: [String] = []
        for p in points {
            let tv = "\(p.task ?? "-")\t\(p.variant ?? "-")"
            if rowsByTV[tv] == nil { order.append(tv) }
            rowsByTV[tv, default: [:]][p.key] = p
        }
        var tables: [String] = []
        for start in stride(from: 0, to: keys.count, by: 6) {
            let cols = Array(keys[start ..< min(keys.count, start + 6)])
            let rows = order.compactMap { tv -> [String]? in
                let cells = cols.map { rowsByTV[tv]?[$0].map { formatValue($0.value) } ?? "-" }
                if cells.allSatisfy({ $0 == "-" }) { return nil }
                return tv.split(separator: "\t").map(String.init) + cells
            }
            tables.append(TextTable(["task", "variant"] + cols, rows: rows).render())
        }
        return tables
    }
}
