import Foundation

/// Which adapter a configuration builds (DESIGN.md §5).
public enum AdapterType: String, Codable, Sendable, CaseIterable {
    /// `y = W0 x + (alpha/r) B A x`.
    case lora
    /// Dense soft mixture: every expert on every token, weighted by the full router softmax.
    case molora
    /// Sparse mixture: top-k experts per token under a capacity limit, with expert dropout.
    case sira
}

/// The hyper-parameters of one adapter, as stored in manifests, packages and `adapter_config.json`.
///
/// JSON keys follow PEFT where PEFT has them (`r`, `lora_alpha`, `target_modules`); the type is
/// written as `adapter_type` and also read from PEFT's `peft_type` (`"LORA"` means `lora`). The
/// mixture keys (`num_experts`, `top_k`, `capacity_factor`, `eval_capacity_factor`,
/// `expert_dropout`, `normalize_gates`, `aux_loss_weight`, `z_loss_weight`) are ours; a missing
/// key takes its default, an unknown key is ignored (PEFT writes many), an invalid value is an
/// error naming the key.
public struct AdapterConfig: Codable, Sendable, Equatable {
    public var type: AdapterType
    /// Rank of every LoRA (each expert's rank for the mixtures).
    public var r: Int
    /// Scale numerator: the delta is multiplied by `loraAlpha / r`.
    public var loraAlpha: Double
    /// Projection names the adapter attaches to (`q_proj`, `v_proj`, `up_proj`, `down_proj`, ...).
    public var targetModules: [String]
    public var numExperts: Int
    public var topK: Int
    /// Training capacity factor; `nil` means no capacity limit.
    public var capacityFactor: Double?
    /// Capacity factor outside training; `nil` (the default) means no limit.
    public var evalCapacityFactor: Double?
    /// Probability of zeroing a granted (token, expert) gate in training; survivors scale by 1/(1-p).
    public var expertDropout: Double
    /// Renormalise the k selected probabilities to sum to 1.
    public var normalizeGates: Bool
    /// Weight of the load-balancing loss (averaged over SiRA layers).
    public var auxLossWeight: Double
    /// Weight of the router z-loss (averaged over SiRA layers); 0 disables it.
    public var zLossWeight: Double
    /// PEFT's `layers_to_transform`: the layer indices adapted (nil: every layer). The backward
    /// pass stops at the lowest of them: nothing below holds a trainable parameter.
    public var layersToTransform: [Int]?

    public static let defaultTargetModules = ["q_proj", "v_proj", "up_proj", "down_proj"]

    public init(type: AdapterType = .sira, r: Int = 8, loraAlpha: Double = 16,
                targetModules: [String] = AdapterConfig.defaultTargetModules,
                numExperts: Int = 8, topK: Int = 2, capacityFactor: Double? = 1.25,
                evalCapacityFactor: Double? = nil, expertDropout: Double = 0,
                normalizeGates: Bool = true, auxLossWeight: Double = 0.01, zLossWeight: Double = 0,
                layersToTransform: [Int]? = nil) {
        self.type = type
        self.r = r
        self.loraAlpha = loraAlpha
        self.targetModules = targetModules
        self.numExperts = numExperts
        self.topK = topK
        self.capacityFactor = capacityFactor
        self.evalCapacityFactor = evalCapacityFactor
        self.expertDropout = expertDropout
        self.normalizeGates = normalizeGates
        self.auxLossWeight = auxLossWeight
        self.zLossWeight = zLossWeight
        self.layersToTransform = layersToTransform
    }

    /// Whether layer `index` is adapted.
    public func adapts(layer index: Int) -> Bool { layersToTransform?.contains(index) ?? true }

    /// How many of `layers` layers are adapted.
    public func adaptedLayerCount(of layers: Int) -> Int { (0..<layers).filter(adapts(layer:)).count }

    /// `alpha / r`, the factor every LoRA delta is multiplied by.
    public var scaling: Float { Float(loraAlpha / Double(r)) }

    /// Throws `AdapterConfigError.invalid` naming the first key whose value cannot work.
    public func validate() throws {
        func fail(_ key: String, _ why: String) throws -> Never {
            throw AdapterConfigError.invalid(key: key, reason: why)
        }
        if r < 1 { try fail("r", "must be at least 1, got \(r)") }
        if !(loraAlpha.isFinite && loraAlpha > 0) { try fail("lora_alpha", "must be a positive number, got \(loraAlpha)") }
        if targetModules.isEmpty { try fail("target_modules", "must name at least one projection") }
        if let layers = layersToTransform {
            if layers.isEmpty { try fail("layers_to_transform", "must name at least one layer") }
            if let bad = layers.first(where: { $0 < 0 }) { try fail("layers_to_transform", "layer indices start at 0, got \(bad)") }
            if Set(layers).count != layers.count { try fail("layers_to_transform", "lists a layer twice") }
        }
        if let bad = targetModules.first(where: { AdapterNaming.block(of: $0) == nil }) {
            try fail("target_modules", "unknown projection '\(bad)' (expected one of \(AdapterNaming.knownModules.joined(separator: ", ")))")
        }
        guard type != .lora else { return }
        if numExperts < 1 { try fail("num_experts", "must be at least 1, got \(numExperts)") }
        if type == .sira {
            if topK < 1 || topK > numExperts { try fail("top_k", "must be in 1...num_experts (\(numExperts)), got \(topK)") }
            if let c = capacityFactor, !(c.isFinite && c > 0) { try fail("capacity_factor", "must be positive, got \(c)") }
            if let c = evalCapacityFactor, !(c.isFinite && c > 0) { try fail("eval_capacity_factor", "must be positive, got \(c)") }
            if !(expertDropout >= 0 && expertDropout < 1) { try fail("expert_dropout", "must be in [0, 1), got \(expertDropout)") }
            if !(auxLossWeight.isFinite && auxLossWeight >= 0) { try fail("aux_loss_weight", "must be >= 0, got \(auxLossWeight)") }
            if !(zLossWeight.isFinite && zLossWeight >= 0) { try fail("z_loss_weight", "must be >= 0, got \(zLossWeight)") }
        }
    }

    enum CodingKeys: String, CodingKey {
        case adapterType = "adapter_type", peftType = "peft_type"
        case r, loraAlpha = "lora_alpha", targetModules = "target_modules"
        case numExperts = "num_experts", topK = "top_k", capacityFactor = "capacity_factor"
        case evalCapacityFactor = "eval_capacity_factor", expertDropout = "expert_dropout"
        case normalizeGates = "normalize_gates", auxLossWeight = "aux_loss_weight", zLossWeight = "z_loss_weight"
        case layersToTransform = "layers_to_transform"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AdapterConfig()
        if let name = try c.decodeIfPresent(String.self, forKey: .adapterType) ?? c.decodeIfPresent(String.self, forKey: .peftType) {
            guard let t = AdapterType(rawValue: name.lowercased()) else {
                throw AdapterConfigError.invalid(key: "adapter_type", reason: "unknown adapter type '\(name)' (expected lora, molora or sira)")
            }
            type = t
        } else {
            throw AdapterConfigError.invalid(key: "adapter_type", reason: "missing (or peft_type)")
        }
        r = try c.decodeIfPresent(Int.self, forKey: .r) ?? d.r
        loraAlpha = try c.decodeIfPresent(Double.self, forKey: .loraAlpha) ?? d.loraAlpha
        targetModules = try c.decodeIfPresent([String].self, forKey: .targetModules) ?? d.targetModules
        numExperts = try c.decodeIfPresent(Int.self, forKey: .numExperts) ?? d.numExperts
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? d.topK
        capacityFactor = c.contains(.capacityFactor) ? try c.decodeIfPresent(Double.self, forKey: .capacityFactor) : d.capacityFactor
        evalCapacityFactor = try c.decodeIfPresent(Double.self, forKey: .evalCapacityFactor)
        expertDropout = try c.decodeIfPresent(Double.self, forKey: .expertDropout) ?? d.expertDropout
        normalizeGates = try c.decodeIfPresent(Bool.self, forKey: .normalizeGates) ?? d.normalizeGates
        auxLossWeight = try c.decodeIfPresent(Double.self, forKey: .auxLossWeight) ?? d.auxLossWeight
        zLossWeight = try c.decodeIfPresent(Double.self, forKey: .zLossWeight) ?? d.zLossWeight
        layersToTransform = try c.decodeIfPresent([Int].self, forKey: .layersToTransform)
        try validate()
    }

    /// Writes every key, `null` for "no capacity limit", so the file states the full configuration.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type.rawValue, forKey: .adapterType)
        try c.encode(r, forKey: .r)
        try c.encode(loraAlpha, forKey: .loraAlpha)
        try c.encode(targetModules, forKey: .targetModules)
        try c.encode(numExperts, forKey: .numExperts)
        try c.encode(topK, forKey: .topK)
        if let v = capacityFactor { try c.encode(v, forKey: .capacityFactor) } else { try c.encodeNil(forKey: .capacityFactor) }
        if let v = evalCapacityFactor { try c.encode(v, forKey: .evalCapacityFactor) } else { try c.encodeNil(forKey: .evalCapacityFactor) }
        try c.encode(expertDropout, forKey: .expertDropout)
        try c.encode(normalizeGates, forKey: .normalizeGates)
        try c.encode(auxLossWeight, forKey: .auxLossWeight)
        try c.encode(zLossWeight, forKey: .zLossWeight)
        // Only when set, so configurations (and the keys hashed from them) without it are unchanged.
        try c.encodeIfPresent(layersToTransform, forKey: .layersToTransform)
    }
}

public enum AdapterConfigError: Error, CustomStringConvertible, Equatable {
    case invalid(key: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(key, reason): "adapter config key '\(key)': \(reason)"
        }
    }
}
