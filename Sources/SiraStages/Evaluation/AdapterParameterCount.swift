import SiraPipeline
import SiraModel

/// Trainable adapter weights for a model shape, without building anything: how the comparison
/// gives LoRA the same parameter budget as SiRA (the paper's "LoRA with rank raised to SiRA's
/// total trainable parameters").
///
/// Per adapted projection `in → out`: LoRA `r (in + out)`; MoLoRA and SiRA `E r (in + out)` for
/// the experts plus `E in` for the router `[E, in]`. Summed over every layer and target module.
public enum AdapterParameterCount {
    /// (in, out) of each Llama projection.
    public static func shape(_ module: String, _ c: LlamaConfig) -> (Int, Int)? {
        let d = c.hiddenSize, q = c.numAttentionHeads * c.headDim, kv = c.numKeyValueHeads * c.headDim
        switch module {
        case "q_proj": return (d, q)
        case "k_proj", "v_proj": return (d, kv)
        case "o_proj": return (q, d)
        case "gate_proj", "up_proj": return (d, c.intermediateSize)
        case "down_proj": return (c.intermediateSize, d)
        default: return nil
        }
    }

    public static func count(_ adapter: AdapterConfig, model c: LlamaConfig) -> Int {
        var total = 0
        for module in adapter.targetModules {
            guard let (i, o) = shape(module, c) else { continue }
            switch adapter.type {
            case .lora: total += adapter.r * (i + o)
            case .molora, .sira: total += adapter.numExperts * (adapter.r * (i + o) + i)
            }
        }
        return total * c.numHiddenLayers
    }

    /// The LoRA rank on `targetModules` whose parameter count is closest to `budget` (at least 1).
    public static func loraRank(matching budget: Int, targetModules: [String], model c: LlamaConfig) -> Int {
        let perRank = targetModules.compactMap { shape($0, c) }.reduce(0) { $0 + $1.0 + $1.1 } * c.numHiddenLayers
        guard perRank > 0 else { return 1 }
        let lower = max(1, budget / perRank)
        // Of the two ranks around the budget, the nearer (the smaller on a tie).
        return abs(budget - lower * perRank) <= abs((lower + 1) * perRank - budget) ? lower : lower + 1
    }
}
