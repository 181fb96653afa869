/// All adapters of one model, built from one `AdapterConfig`: the factory the model's
/// projection hook calls, and the place the trainer reads parameters, auxiliary losses and router
/// statistics from.
///
/// Initialisation is deterministic per (seed, tensor-name prefix), independent of the order in
/// which projections are attached. Every SiRA layer's `auxiliaryScale` is kept at 1 / (number of
/// SiRA layers), so the sum of `auxiliaryLoss` over layers is the mean DESIGN.md §5 asks for.
public final class AdapterSet {
    public let config: AdapterConfig
    public let seed: UInt64
    /// Adapters in attachment order, with their tensor-name prefix.
    public private(set) var adapters: [(prefix: String, adapter: any ProjectionAdapter)] = []
    /// Transient buffers shared by all adapters of the set (they run one at a time).
    public let workspace = AdapterWorkspace()

    public init(config: AdapterConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        self.seed = seed
    }

    /// Whether `module` (e.g. `q_proj`) is one of the configured `target_modules`.
    public func targets(_ module: String) -> Bool { config.targetModules.contains(module) }

    /// Builds the adapter for projection `module` of decoder layer `layer` (`[out, in]` weight).
    public func make(layer: Int, module: String, inFeatures: Int, outFeatures: Int) -> any ProjectionAdapter {
        make(prefix: AdapterNaming.prefix(layer: layer, module: module), inFeatures: inFeatures, outFeatures: outFeatures)
    }

    /// Builds an adapter under an explicit tensor-name prefix (tests, non-Llama hosts).
    public func make(prefix: String, inFeatures: Int, outFeatures: Int) -> any ProjectionAdapter {
        let adapter: any ProjectionAdapter
        switch config.type {
        case .lora:
            adapter = LoRAAdapter(prefix: prefix, inFeatures: inFeatures, outFeatures: outFeatures,
                                  rank: config.r, alpha: config.loraAlpha, seed: seed, workspace: workspace)
        case .molora:
            adapter = MoLoRAAdapter(prefix: prefix, inFeatures: inFeatures, outFeatures: outFeatures,
                                    rank: config.r, alpha: config.loraAlpha, experts: config.numExperts, seed: seed, workspace: workspace)
        case .sira:
            adapter = SiraAdapter(prefix: prefix, inFeatures: inFeatures, outFeatures: outFeatures, config: config, seed: seed, workspace: workspace)
        }
        adapters.append((prefix, adapter))
        let sira = siraLayers
        for layer in sira { layer.auxiliaryScale = 1 / Float(sira.count) }
        return adapter
    }

    public var siraLayers: [SiraAdapter] { adapters.compactMap { $0.adapter as? SiraAdapter } }

    /// Every adapter parameter, in attachment order.
    public var parameters: [Parameter] { adapters.flatMap { $0.adapter.parameters } }

    /// Sum of the adapters' weighted auxiliary losses from the last forward.
    public var auxiliaryLoss: Float { adapters.reduce(0) { $0 + $1.adapter.auxiliaryLoss } }

    /// The SiRA layers' routing in the last forward, merged; nil without SiRA layers.
    public var routerStatistics: RouterStatistics? { RouterStatistics.merged(siraLayers.map(\.lastStatistics)) }
}
