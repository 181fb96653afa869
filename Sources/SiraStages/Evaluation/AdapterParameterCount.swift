import SiraPipeline
import SiraModel

/// Trainable adapter weights for a model shape, without building anything: how the comparison
/// gives LoRA the same parameter budget as SiRA (the paper's "LoRA with rank raised to SiRA's
/// total trainable parameters").
///
/// Per adapted projection `in → out`: LoRA `r (in + out)`; MoLoRA and SiRA `E r (in + out)` for
/// the experts plus `E in` for the router `[E, in]`. Summed over the adapted layers and target modules.
public enum AdapterParameterCount {
    public static func count(_ adapter: AdapterConfig, model c: LlamaConfig) -> Int {
        var total = 0
        for module in adapter.targetModules {
            guard let (i, o) = AdapterLimits.shape(of: module, in: c) else { continue }
            switch adapter.type {
            case .lora: total += adapter.r * (i + o)
            case .molora, .sira: total += adapter.numExperts * (adapter.r * (i + o) + i)
            }
        }
        return total * adapter.adaptedLayerCount(of: c.numHiddenLayers)
    }

    /// The LoRA rank on `targetModules` of `layers` layers (nil: all) whose parameter count is
    /// closest to `budget` (at least 1).
    public static func loraRank(matching budget: Int, targetModules: [String], layers: [Int]? = nil, model c: LlamaConfig) -> Int {
        let adapted = AdapterConfig(type: .lora, targetModules: targetModules, layersToTransform: layers).adaptedLayerCount(of: c.numHiddenLayers)
        let perRank = targetModules.compactMap { AdapterLimits.shape(of: $0, in: c) }.reduce(0) { $0 + $1.in + $1.out } * adapted
        guard perRank > 0 else { return 1 }
        let lower = max(1, budget / perRank)
        // Of the two ranks around the budget, the nearer (the smaller on a tie).
        return abs(budget - lower * perRank) <= abs((lower + 1) * perRank - budget) ? lower : lower + 1
    }
}
