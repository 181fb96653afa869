import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// One per-step metric series of one stage (a training loss curve).
public struct ReportSeries: Sendable, Equatable {
    public var task: String?
    /// nil for the base model's pretraining.
    public var variant: String?
    public var key: String
    public var steps: [Int]
    public var values: [Double]
    /// The run that recorded the points: this run, or the earlier run whose output a cached
    /// stage reused.
    public var fromRun: RunID
}

/// Per-layer router statistics of one SiRA adapter (one train stage).
public struct ReportRouter: Sendable, Equatable {
    public var task: String?
    public var variant: String
    /// `load[layer][expert]`: share of the layer's top-k assignments routed to the expert.
    public var load: [[Double]]
    public var dropped: [Double?]
    public var entropy: [Double?]
    public var totalDropped: Double?
    public var totalEntropy: Double?

    public var experts: Int { load.map(\.count).max() ?? 0 }

    /// Seed replicas of one (task, variant) folded into their element-wise mean (variant without
    /// the seed suffix), with the number of replicas; first-seen order.
    public static func averagedOverSeeds(_ routers: [ReportRouter]) -> [(ReportRouter, Int)] {
        struct Key: Hashable { var task: String?, variant: String }
        var order: [Key] = [], groups: [Key: [ReportRouter]] = [:]
        for r in routers {
            let k = Key(task: r.task, variant: VariantName(parsing: r.variant).variant)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(r)
        }
        func mean(_ xs: [Double?]) -> Double? {
            let v = xs.compactMap { $0 }
            return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        return order.map { k in
            let list = groups[k]!
            let layers = list.map(\.load.count).max() ?? 0
            let experts = list.map(\.experts).max() ?? 0
            let load = (0 ..< layers).map { l in
                (0 ..< experts).map { e in mean(list.map { l < $0.load.count && e < $0.load[l].count ? $0.load[l][e] : nil }) ?? 0 }
            }
            let dl = list.map(\.dropped.count).max() ?? 0, el = list.map(\.entropy.count).max() ?? 0
            let r = ReportRouter(task: k.task, variant: k.variant, load: load,
                                 dropped: (0 ..< dl).map { l in mean(list.map { l < $0.dropped.count ? $0.dropped[l] : nil }) },
                                 entropy: (0 ..< el).map { l in mean(list.map { l < $0.entropy.count ? $0.entropy[l] : nil }) },
                                 totalDropped: mean(list.map(\.totalDropped)), totalEntropy: mean(list.map(\.totalEntropy)))
            return (r, list.count)
        }
    }
}

/// Everything `report` shows about a run, read from `data/runs.sqlite` alone.
public struct ReportData: Sendable {
    public var detail: RunDetail
    /// The run of the same pipeline just before this one (nil for the first).
    public var previous: RunDetail?
    public var evaluations: [EvaluationResult]
    public var previousEvaluations: [EvaluationResult]
    /// Variant (seed suffix removed) → kind (`lora`, `molora`, `sira`, `multitask`), from the
    /// run's parameters.
    public var architectures: [String: String]
    public var series: [ReportSeries]
    /// Routing measured over all training steps (`router.*`), per train stage.
    public var routers: [ReportRouter]
    /// Routing on the eval split (`eval.router.*`), per evaluated (task, variant): what the
    /// adapter does at inference, under the evaluation capacity.
    public var evalRouters: [ReportRouter] = []
    /// Trainable adapter weights per variant (seed suffix removed), where training recorded them.
    public var parameters: [String: Double] = [:]
    public var generatedAt: Date

    public var comparison: Comparison { Comparison(results: evaluations, architectures: architectures) }

    /// Reads run `id` (and its predecessor). Series of stages that were cached in this run come
    /// from the run that produced their outputs, so a fully cached rerun still shows its curves.
    public static func load(store: RunStore, run id: RunID, now: Date = Date()) throws -> ReportData? {
        guard let detail = try store.detail(id) else { return nil }
        let previous = try store.runs(RunFilter(pipeline: detail.run.pipeline))
            .filter { $0.id < id }
            .max { $0.id < $1.id }
            .flatMap { try store.detail($0.id) }

        let architectures = Comparison.architectures(detail.params)

        let points = try store.metrics(run: id)
        var series = seriesOf(points.filter { $0.step != nil }, fromRun: id)
        let withSeries = Set(series.map { SeriesOwner(task: $0.task, variant: $0.variant) })
        var metricsOfRun: [RunID: [MetricPoint]] = [:]   // many cached stages share one producing run
        for (stage, producer) in try CachedStageProducers.of(detail, store: store) where stage.kind == "train" || stage.kind == "base" {
            guard !withSeries.contains(SeriesOwner(task: stage.task, variant: stage.variant)) else { continue }
            if metricsOfRun[producer.runID] == nil { metricsOfRun[producer.runID] = try store.metrics(run: producer.runID) }
            let produced = metricsOfRun[producer.runID]!.filter { $0.stageRunID == producer.id && $0.step != nil }
            // The producer recorded under its own stage's task/variant, which equal this stage's.
            series += seriesOf(produced, fromRun: producer.runID)
        }

        return ReportData(
            detail: detail, previous: previous,
            evaluations: Comparison.evaluations(detail.finalMetrics), previousEvaluations: previous.map { Comparison.evaluations($0.finalMetrics) } ?? [],
            architectures: architectures, series: series, routers: routers(detail.finalMetrics),
            evalRouters: routers(detail.finalMetrics, prefix: RouterMetricKey.evaluation),
            parameters: Comparison.adapterParameters(detail.finalMetrics), generatedAt: now
        )
    }

    private struct SeriesOwner: Hashable { var task: String?, variant: String? }

    static func seriesOf(_ points: [MetricPoint], fromRun: RunID) -> [ReportSeries] {
        struct Key: Hashable { var task: String?, variant: String?, key: String }
        var order: [Key] = [], grouped: [Key: [MetricPoint]] = [:]
        for p in points where p.key == SeriesKey.trainLoss || p.key.hasPrefix(SeriesKey.evalLoss) {
            let k = Key(task: p.task, variant: p.variant, key: p.key)
            if grouped[k] == nil { order.append(k) }
            grouped[k, default: []].append(p)
        }
        return order.map { k in
            // A resumed stage may record a step twice: the later point wins.
            var byStep: [Int: Double] = [:]
            for p in grouped[k]!.sorted(by: { ($0.step!, $0.time) < ($1.step!, $1.time) }) { byStep[p.step!] = p.value }
            let steps = byStep.keys.sorted()
            return ReportSeries(task: k.task, variant: k.variant, key: k.key, steps: steps, values: steps.map { byStep[$0]! }, fromRun: fromRun)
        }
    }

    /// Router statistics recorded under `prefix` (training's `router` or evaluation's
    /// `eval.router`), one per (task, variant), in first-seen order.
    static func routers(_ final: [MetricPoint], prefix: String = RouterMetricKey.training) -> [ReportRouter] {
        struct Key: Hashable { var task: String?, variant: String }
        var order: [Key] = [], out: [Key: ReportRouter] = [:]
        func grow<T>(_ a: inout [T], to n: Int, with v: T) { if a.count < n { a += Array(repeating: v, count: n - a.count) } }
        for p in final {
            guard let variant = p.variant else { continue }
            let k = Key(task: p.task, variant: variant)
            let parsed = RouterMetricKey.parse(p.key, prefix: prefix)
            let totalDropped = RouterMetricKey.droppedFraction(prefix), totalEntropy = RouterMetricKey.entropy(prefix)
            guard parsed != nil || p.key == totalDropped || p.key == totalEntropy else { continue }
            if out[k] == nil {
                order.append(k)
                out[k] = ReportRouter(task: p.task, variant: variant, load: [], dropped: [], entropy: [])
            }
            var r = out[k]!
            switch parsed {
            case let .load(layer, expert):
                grow(&r.load, to: layer + 1, with: [])
                grow(&r.load[layer], to: expert + 1, with: 0)
                r.load[layer][expert] = p.value
            case let .dropped(layer):
                grow(&r.dropped, to: layer + 1, with: nil)
                r.dropped[layer] = p.value
            case let .entropy(layer):
                grow(&r.entropy, to: layer + 1, with: nil)
                r.entropy[layer] = p.value
            case nil:
                if p.key == totalDropped { r.totalDropped = p.value } else { r.totalEntropy = p.value }
            }
            out[k] = r
        }
        return order.map { out[$0]! }
    }
}
