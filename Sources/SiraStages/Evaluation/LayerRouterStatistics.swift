import SiraPipeline
import SiraModel

/// SiRA routing per decoder layer, accumulated over training steps: after each step, every SiRA
/// adapter's statistics from its last forward (the step's last micro-batch) are merged into its
/// layer's total, all adapted projections of a layer together. `metrics` gives the report's
/// heatmap rows (`RouterMetricKey`).
public struct LayerRouterStatistics: Sendable, Equatable {
    public private(set) var layers: [Int: RouterStatistics] = [:]

    public init() {}

    /// Adds the routing of `model`'s last forward. A model without SiRA adapters adds nothing.
    public mutating func add(_ model: LlamaModel) {
        for attached in model.adapters {
            guard let sira = attached.adapter as? SiraAdapter else { continue }
            let s = sira.lastStatistics
            guard s.calls > 0 else { continue }
            if layers[attached.layer] == nil { layers[attached.layer] = s } else { layers[attached.layer]!.merge(s) }
        }
    }

    public var isEmpty: Bool { layers.isEmpty }

    /// Every layer merged.
    public var total: RouterStatistics? { RouterStatistics.merged(layers.keys.sorted().map { layers[$0]! }) }

    /// `router.L{l}.load.e{e}`, `router.L{l}.dropped_fraction`, `router.L{l}.entropy` per layer
    /// (`prefix` in place of `router`).
    public var metrics: [String: Double] { metrics(prefix: RouterMetricKey.training) }

    public func metrics(prefix: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for (l, s) in layers {
            for (e, v) in s.load.enumerated() { out[RouterMetricKey.layerLoad(l, expert: e, prefix: prefix)] = v }
            out[RouterMetricKey.layerDropped(l, prefix: prefix)] = s.droppedFraction
            out[RouterMetricKey.layerEntropy(l, prefix: prefix)] = s.meanEntropy
        }
        return out
    }
}
