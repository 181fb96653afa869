import ArgumentParser
import Foundation
import SiraIO
import SiraStore

/// `sira-pipeline compare A B`: two runs side by side — run facts, parameters, each stage's
/// outcome and cache key, and final metrics with their change.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two runs: parameters, stages, cache keys and final metrics.")

    @Argument(help: "The first (baseline) run id.") var a: String
    @Argument(help: "The second run id, or `latest`.") var b: String
    @Flag(help: "Only rows that differ (durations are left out: they always differ).") var onlyChanged = false
    @OptionGroup var options: HistoryOptions

    func run() throws {
        try reportingFailures {
            let store = try options.requireStore()
            let (idA, idB) = (try resolveRunID(a, in: store), try resolveRunID(b, in: store))
            let (da, db) = (try store.requireDetail(idA), try store.requireDetail(idB))
            var rows = Self.rows(da, db)
            if onlyChanged { rows = rows.filter { $0.changed && !$0.isDuration } }
            if options.json {
                try printJSON(rows)
                return
            }
            if rows.isEmpty {
                print("runs \(idA) and \(idB) do not differ" + (onlyChanged ? " (durations aside)" : ""))
                return
            }
            print(TextTable(["section", "item", "run \(idA)", "run \(idB)", "change"], rows: rows.map {
                [$0.section, $0.item, $0.a ?? "-", $0.b ?? "-", $0.change ?? ($0.changed ? "*" : "")]
            }).render())
        }
    }

    struct Row: Encodable {
        var section: String
        var item: String
        var a: String?
        var b: String?
        /// `+0.0312` for numbers, nil otherwise.
        var change: String?
        var changed: Bool
        var isDuration = false
    }

    static func rows(_ a: RunDetail, _ b: RunDetail) -> [Row] {
        var rows: [Row] = []
        func add(_ section: String, _ item: String, _ va: String?, _ vb: String?, numbers: (Double?, Double?)? = nil,
                 duration: Bool = false) {
            var change: String?
            if let (x, y) = numbers, let x, let y, x.isFinite, y.isFinite, x != y {
                let d = y - x
                change = (d >= 0 ? "+" : "-") + (duration ? TimeSpec.format(duration: abs(d)) : formatValue(abs(d)))
            }
            rows.append(Row(section: section, item: item, a: va, b: vb, change: change, changed: va != vb, isDuration: duration))
        }
        add("run", "pipeline", a.run.pipeline, b.run.pipeline)
        add("run", "status", a.run.status.rawValue, b.run.status.rawValue)
        add("run", "manifest", String(a.run.manifestHash.prefix(16)), String(b.run.manifestHash.prefix(16)))
        add("run", "trigger", a.run.trigger, b.run.trigger)
        let (durA, durB) = (a.run.duration(), b.run.duration())
        add("run", "duration", durA.map(TimeSpec.format(duration:)), durB.map(TimeSpec.format(duration:)),
            numbers: (durA, durB), duration: true)

        let params = (paramMap(a), paramMap(b))
        for key in Set(params.0.keys).union(params.1.keys).sorted() {
            add("param", key, params.0[key].map(shortened), params.1[key].map(shortened))
        }

        let stages = (latest(a.stages), latest(b.stages))
        let stageNames = orderedUnion(a.stages.map(\.stage), b.stages.map(\.stage))
        for name in stageNames {
            let (sa, sb) = (stages.0[name], stages.1[name])
            add("stage", name, sa?.status.rawValue, sb?.status.rawValue)
            if sa?.cacheKey != nil || sb?.cacheKey != nil {
                add("stage", "\(name) cache key", sa?.cacheKey.map { String($0.prefix(16)) }, sb?.cacheKey.map { String($0.prefix(16)) })
            }
            add("stage", "\(name) duration", sa?.duration.map(TimeSpec.format(duration:)), sb?.duration.map(TimeSpec.format(duration:)),
                numbers: (sa?.duration, sb?.duration), duration: true)
        }

        let metrics = (metricMap(a.finalMetrics), metricMap(b.finalMetrics))
        for key in Set(metrics.0.keys).union(metrics.1.keys).sorted() {
            let (ma, mb) = (metrics.0[key], metrics.1[key])
            add("metric", key, ma.map(formatValue), mb.map(formatValue), numbers: (ma, mb))
        }
        return rows
    }

    /// A long parameter (a watch run's input hashes) as its item count and a digest of it, so the
    /// columns stay readable and two different lists still compare unequal; `--json` of `show`
    /// has the whole value.
    static func shortened(_ value: String) -> String {
        guard value.count > 64 else { return value }
        let items = value.split(separator: ",").count
        return "\(items) item\(items == 1 ? "" : "s"), sha256 \(ContentHash.sha256(Array(value.utf8)).prefix(12))"
    }

    /// Run-scope keys as is; stage-scope keys as `<stage>: <key>`.
    private static func paramMap(_ d: RunDetail) -> [String: String] {
        let stageName = Dictionary(d.stages.map { ($0.id, $0.stage) }, uniquingKeysWith: { $1 })
        var out: [String: String] = [:]
        for p in d.params {
            let scope = p.stageRunID.flatMap { stageName[$0] }
            out[scope.map { "\($0): \(p.key)" } ?? p.key] = p.value
        }
        return out
    }

    private static func latest(_ stages: [StageRunRecord]) -> [String: StageRunRecord] {
        Dictionary(stages.map { ($0.stage, $0) }, uniquingKeysWith: { $1 })
    }

    private static func metricMap(_ points: [MetricPoint]) -> [String: Double] {
        var out: [String: Double] = [:]
        for p in points { out["\(p.task ?? "-")/\(p.variant ?? "-") \(p.key)"] = p.value }
        return out
    }

    private static func orderedUnion(_ x: [String], _ y: [String]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for s in x + y where seen.insert(s).inserted { out.append(s) }
        return out
    }
}
