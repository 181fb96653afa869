import Foundation

/// Checks of an adapter against what it will be built from, made before any adapter tensor is
/// allocated: a package whose config says `r: 1000000000` must be an error naming the key, not a
/// 512 GB allocation that kills the process. Loading (`AdapterFiles.attach`, packages) and
/// `verify` call the same functions.
public enum AdapterLimits {
    /// More experts than this is refused whatever the base (a router row per expert per layer).
    public static let maxExperts = 1024
    /// An adapter may hold at most this many parameters per base parameter.
    public static let maxParametersPerBaseParameter = 4

    /// `(in, out)` of a Llama projection of `base`.
    public static func shape(of module: String, in base: LlamaConfig) -> (in: Int, out: Int)? {
        let q = base.numAttentionHeads * base.headDim, kv = base.numKeyValueHeads * base.headDim
        switch module {
        case "q_proj": return (base.hiddenSize, q)
        case "k_proj", "v_proj": return (base.hiddenSize, kv)
        case "o_proj": return (q, base.hiddenSize)
        case "gate_proj", "up_proj": return (base.hiddenSize, base.intermediateSize)
        case "down_proj": return (base.intermediateSize, base.hiddenSize)
        default: return nil
        }
    }

    /// Throws `AdapterConfigError.invalid` naming the key when `config` cannot be built on `base`:
    /// `r` above the smallest targeted projection's rank, `num_experts` above `maxExperts`, or an
    /// adapter larger than `maxParametersPerBaseParameter` × the base (the estimate is given).
    public static func check(_ config: AdapterConfig, fits base: LlamaConfig) throws {
        try config.validate()
        var smallest = Int.max, perLayer = 0.0
        for module in config.targetModules {
            guard let s = shape(of: module, in: base) else { continue }
            smallest = min(smallest, s.in, s.out)
            let experts = config.type == .lora ? 1.0 : Double(config.numExperts)
            perLayer += experts * Double(config.r) * Double(s.in + s.out) + (config.type == .lora ? 0 : experts * Double(s.in))
        }
        if let bad = config.layersToTransform?.first(where: { $0 >= base.numHiddenLayers }) {
            throw AdapterConfigError.invalid(key: "layers_to_transform", reason: "layer \(bad) does not exist: the base has \(base.numHiddenLayers) layers (0...\(base.numHiddenLayers - 1))")
        }
        if config.r > smallest {
            throw AdapterConfigError.invalid(key: "r", reason: "\(config.r) exceeds the rank of the smallest targeted projection of the base (\(smallest))")
        }
        if config.type != .lora, config.numExperts > maxExperts {
            throw AdapterConfigError.invalid(key: "num_experts", reason: "\(config.numExperts) exceeds the limit \(maxExperts)")
        }
        let total = perLayer * Double(config.adaptedLayerCount(of: base.numHiddenLayers))
        let baseParameters = Double(base.vocabSize * base.hiddenSize) + Double(base.numHiddenLayers)
            * Double(base.hiddenSize) * Double(4 * base.hiddenSize + 3 * base.intermediateSize)
        if total > Double(maxParametersPerBaseParameter) * max(baseParameters, 1) {
            throw AdapterConfigError.invalid(key: "r", reason: String(format: "the adapter would hold %.3g parameters (%.3g GB), over %d× the base's %.3g",
                                                                     total, total * 4 / 1e9, maxParametersPerBaseParameter, baseParameters))
        }
    }
}
