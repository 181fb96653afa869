/// The evaluation metrics every evaluate stage records (per task and variant, stepless), with the
/// direction in which they improve. One list, so the end-of-run table, the report, the comparison
/// and the bundle choice agree on names and directions.
public struct EvaluationMetric: Sendable, Hashable {
    /// The metric key in SQLite (`eval.exact_match`).
    public var key: String
    /// Column title (`exact match`).
    public var title: String
    public var higherIsBetter: Bool
    /// Fraction metrics are shown with 3 decimals, the others adaptively.
    public var isFraction: Bool

    public static let loss = EvaluationMetric(key: "eval.loss", title: "eval loss", higherIsBetter: false, isFraction: false)
    public static let perplexity = EvaluationMetric(key: "eval.perplexity", title: "perplexity", higherIsBetter: false, isFraction: false)
    public static let tokenAccuracy = EvaluationMetric(key: "eval.token_accuracy", title: "token accuracy", higherIsBetter: true, isFraction: true)
    public static let exactMatch = EvaluationMetric(key: "eval.exact_match", title: "exact match", higherIsBetter: true, isFraction: true)

    /// In display order.
    public static let all: [EvaluationMetric] = [.exactMatch, .tokenAccuracy, .loss, .perplexity]

    public static func named(_ key: String) -> EvaluationMetric? { all.first { $0.key == key } }

    /// Whether `a` is strictly better than `b` under this metric's direction.
    public func isBetter(_ a: Double, than b: Double) -> Bool { higherIsBetter ? a > b : a < b }
}

/// Metric keys of router statistics (SiRA variants). Training records the totals over all steps
/// (`router.*`) and, per decoder layer `L` (merged over that layer's adapted projections), the
/// share of top-k assignments routed to each expert `e`, the fraction dropped by capacity and the
/// mean routing entropy (nats).
public enum RouterMetricKey {
    public static let droppedFraction = "router.dropped_fraction"
    public static let entropy = "router.entropy"
    public static let balanceLoss = "router.balance_loss"

    public static func layerLoad(_ layer: Int, expert: Int) -> String { "router.L\(layer).load.e\(expert)" }
    public static func layerDropped(_ layer: Int) -> String { "router.L\(layer).dropped_fraction" }
    public static func layerEntropy(_ layer: Int) -> String { "router.L\(layer).entropy" }

    /// What a per-layer key says: (layer, expert) for a load, (layer, nil) for the other two.
    public enum Parsed: Equatable {
        case load(layer: Int, expert: Int)
        case dropped(layer: Int)
        case entropy(layer: Int)
    }

    public static func parse(_ key: String) -> Parsed? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == "router", parts[1].first == "L", let layer = Int(parts[1].dropFirst()) else { return nil }
        if parts.count == 4, parts[2] == "load", parts[3].first == "e", let e = Int(parts[3].dropFirst()) {
            return .load(layer: layer, expert: e)
        }
        if parts.count == 3, parts[2] == "dropped_fraction" { return .dropped(layer: layer) }
        if parts.count == 3, parts[2] == "entropy" { return .entropy(layer: layer) }
        return nil
    }
}

/// Keys of the per-step series training records.
public enum SeriesKey {
    /// Training loss per step (the mean over the step's scored tokens).
    public static let trainLoss = "train.loss"
    /// Loss on the eval split, measured every `eval_every` steps during training. A multitask
    /// adapter records one series per task: `train.eval_loss.<task>`.
    public static let evalLoss = "train.eval_loss"

    public static func evalLoss(task: String) -> String { "\(evalLoss).\(task)" }
}
