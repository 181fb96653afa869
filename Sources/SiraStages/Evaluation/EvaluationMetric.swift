import SiraPipeline
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
/// mean routing entropy (nats). Evaluation records the same over its eval-split forwards under
/// the prefix `eval.router` (`eval.router.L0.load.e1`), with the evaluation capacity
/// (`eval_capacity_factor`, default unlimited: nothing dropped).
public enum RouterMetricKey {
    /// Training's prefix.
    public static let training = "router"
    /// Evaluation's prefix.
    public static let evaluation = "eval.router"

    public static let droppedFraction = "router.dropped_fraction"
    public static let entropy = "router.entropy"
    public static let balanceLoss = "router.balance_loss"

    public static func droppedFraction(_ prefix: String) -> String { "\(prefix).dropped_fraction" }
    public static func entropy(_ prefix: String) -> String { "\(prefix).entropy" }

    public static func layerLoad(_ layer: Int, expert: Int, prefix: String = training) -> String { "\(prefix).L\(layer).load.e\(expert)" }
    public static func layerDropped(_ layer: Int, prefix: String = training) -> String { "\(prefix).L\(layer).dropped_fraction" }
    public static func layerEntropy(_ layer: Int, prefix: String = training) -> String { "\(prefix).L\(layer).entropy" }

    /// What a per-layer key says: (layer, expert) for a load, (layer, nil) for the other two.
    public enum Parsed: Equatable {
        case load(layer: Int, expert: Int)
        case dropped(layer: Int)
        case entropy(layer: Int)
    }

    /// Parses a per-layer key under `prefix` (training's by default); nil for anything else.
    public static func parse(_ key: String, prefix: String = training) -> Parsed? {
        guard key.hasPrefix(prefix + ".") else { return nil }
        let parts = key.dropFirst(prefix.count + 1).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].first == "L", let layer = Int(parts[0].dropFirst()) else { return nil }
        if parts.count == 3, parts[1] == "load", parts[2].first == "e", let e = Int(parts[2].dropFirst()) {
            return .load(layer: layer, expert: e)
        }
        if parts.count == 2, parts[1] == "dropped_fraction" { return .dropped(layer: layer) }
        if parts.count == 2, parts[1] == "entropy" { return .entropy(layer: layer) }
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
