import SiraPipeline
import SiraStore

/// What a comparison reads from a recorded run (the report and `compare` both start here).
extension Comparison {
    /// Variant (seed suffix removed) → kind, from the run's `adapters.<name>.kind` parameters.
    public static func architectures(_ params: [ParamRecord]) -> [String: String] {
        var out: [String: String] = [:]
        for p in params where p.stageRunID == nil && p.key.hasPrefix("adapters.") && p.key.hasSuffix(".kind") {
            let name = p.key.dropFirst("adapters.".count).dropLast(".kind".count)
            out[VariantName(parsing: String(name)).variant] = p.value
        }
        return out
    }

    /// The final `eval.*` metrics of a run, one result per (task, variant), in first-seen order.
    public static func evaluations(_ final: [MetricPoint]) -> [EvaluationResult] {
        struct Key: Hashable { var task: String, variant: String }
        var order: [Key] = [], metrics: [Key: [String: Double]] = [:]
        for p in final where p.step == nil && p.key.hasPrefix("eval.") {
            guard let task = p.task, let variant = p.variant else { continue }
            let k = Key(task: task, variant: variant)
            if metrics[k] == nil { order.append(k) }
            metrics[k, default: [:]][p.key] = p.value
        }
        return order.map { EvaluationResult(task: $0.task, variant: $0.variant, metrics: metrics[$0]!) }
    }
}
