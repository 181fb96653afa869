import Foundation
import SiraIO

/// The shape of a Llama-family model (`model_type` llama, mistral, qwen2, qwen3), read from and
/// written as a Hugging Face `config.json`.
///
/// `load(from:)` first checks every key of the file against `HuggingFaceConfigKeys` (a key that
/// would change the computation and is not implemented is an error naming it); decoding fills the
/// HF defaults of each family (`num_key_value_heads` = heads, `head_dim` = hidden / heads, or 128
/// for qwen3), and `validate()` rejects values this engine cannot run. The families differ only in
/// `qkvBias`/`oBias` (Qwen2 always has q/k/v biases; `attention_bias` gives llama and qwen3 biases
/// on q/k/v/o), `qkNorm` (Qwen3's per-head RMSNorm of q and k before RoPE) and `slidingWindow`.
/// Encoding writes the keys `transformers` needs to load the folder as the same family.
public struct LlamaConfig: Codable, Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    /// Per-head width; HF allows it to differ from `hiddenSize / numAttentionHeads`.
    public var headDim: Int
    public var vocabSize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling?
    public var tieWordEmbeddings: Bool
    public var maxPositionEmbeddings: Int
    public var bosTokenId: Int?
    /// HF allows one id or a list; both decode into a list.
    public var eosTokenIds: [Int]
    public var hiddenAct: String
    public var attentionBias: Bool
    public var mlpBias: Bool
    /// `llama`, `mistral`, `qwen2` or `qwen3` (HF `model_type`).
    public var modelType: String
    /// Tokens a query may look back when some layer uses sliding-window attention (Mistral's
    /// `sliding_window`, Qwen's with `use_sliding_window`); nil when attention is global. The
    /// engine computes full causal attention, which equals the windowed one exactly while every
    /// sequence fits in the window, so `contextLength` is capped by it and longer inputs are refused.
    public var slidingWindow: Int?

    public static let supportedModelTypes = ["llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                                             "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"]

    /// q_proj, k_proj, v_proj carry a bias (`.bias` tensors `[out]`).
    public var qkvBias: Bool { modelType == "qwen2" || (attentionBias && modelType != "mistral") }
    /// o_proj carries a bias (llama and qwen3 with `attention_bias`).
    public var oBias: Bool { attentionBias && (modelType == "llama" || modelType == "qwen3") }
    /// Qwen3: `self_attn.q_norm` / `k_norm`, RMSNorm weights `[head_dim]` over each head of q and k.
    public var qkNorm: Bool { modelType == "qwen3" }
    /// The longest sequence the engine computes exactly: `max_position_embeddings`, or the
    /// sliding window when it is smaller.
    public var contextLength: Int { min(maxPositionEmbeddings, slidingWindow ?? .max) }

    public init(hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                numKeyValueHeads: Int? = nil, headDim: Int? = nil, vocabSize: Int,
                rmsNormEps: Float = 1e-5, ropeTheta: Double = 10000, ropeScaling: RopeScaling? = nil,
                tieWordEmbeddings: Bool = false, maxPositionEmbeddings: Int = 2048,
                bosTokenId: Int? = nil, eosTokenIds: [Int] = [], modelType: String = "llama",
                attentionBias: Bool = false, slidingWindow: Int? = nil) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads ?? numAttentionHeads
        self.headDim = headDim ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        self.vocabSize = vocabSize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.tieWordEmbeddings = tieWordEmbeddings
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
        hiddenAct = "silu"
        self.attentionBias = attentionBias
        mlpBias = false
        self.modelType = modelType
        self.slidingWindow = slidingWindow
    }

    /// `rope_scaling` as HF writes it; `linear` and `llama3` are supported.
    public struct RopeScaling: Codable, Sendable, Equatable {
        public var ropeType: String
        public var factor: Double
        public var lowFreqFactor: Double?
        public var highFreqFactor: Double?
        public var originalMaxPositionEmbeddings: Int?

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type", type, factor
            case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
            case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        }

        public init(ropeType: String, factor: Double, lowFreqFactor: Double? = nil, highFreqFactor: Double? = nil,
                    originalMaxPositionEmbeddings: Int? = nil) {
            self.ropeType = ropeType
            self.factor = factor
            self.lowFreqFactor = lowFreqFactor
            self.highFreqFactor = highFreqFactor
            self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            // Older configs say `type`, newer ones `rope_type`.
            ropeType = try c.decodeIfPresent(String.self, forKey: .ropeType)
                ?? c.decodeIfPresent(String.self, forKey: .type) ?? "default"
            factor = try c.decodeIfPresent(Double.self, forKey: .factor) ?? 1
            lowFreqFactor = try c.decodeIfPresent(Double.self, forKey: .lowFreqFactor)
            highFreqFactor = try c.decodeIfPresent(Double.self, forKey: .highFreqFactor)
            originalMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositionEmbeddings)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(ropeType, forKey: .ropeType)
            try c.encode(factor, forKey: .factor)
            try c.encodeIfPresent(lowFreqFactor, forKey: .lowFreqFactor)
            try c.encodeIfPresent(highFreqFactor, forKey: .highFreqFactor)
            try c.encodeIfPresent(originalMaxPositionEmbeddings, forKey: .originalMaxPositionEmbeddings)
        }
    }

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", vocabSize = "vocab_size"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case tieWordEmbeddings = "tie_word_embeddings", maxPositionEmbeddings = "max_position_embeddings"
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", hiddenAct = "hidden_act"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case modelType = "model_type", architectures, torchDtype = "torch_dtype"
        case ropeParameters = "rope_parameters", slidingWindow = "sliding_window"
        case useSlidingWindow = "use_sliding_window", layerTypes = "layer_types"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "llama"
        // Qwen3Config's head_dim defaults to 128; the others derive it (Mistral writes null).
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
            ?? (modelType == "qwen3" ? 128 : numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        // transformers 5 writes theta and scaling together as `rope_parameters`.
        let parameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? parameters?.ropeTheta ?? 10000
        ropeScaling = try c.decodeIfPresent(RopeScaling.self, forKey: .ropeScaling)
            ?? parameters.flatMap { $0.scaling.ropeType == "default" ? nil : $0.scaling }
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenId) {
            eosTokenIds = [one]
        } else {
            eosTokenIds = try c.decodeIfPresent([Int].self, forKey: .eosTokenId) ?? []
        }
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false
        // Mistral windows every layer when `sliding_window` is set; Qwen only with
        // `use_sliding_window` (or a `sliding_attention` entry in `layer_types`).
        let window = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
        let qwenWindowed = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? false
            || (try c.decodeIfPresent([String].self, forKey: .layerTypes) ?? []).contains { $0 != "full_attention" }
        switch modelType {
        case "mistral": slidingWindow = window
        case "qwen2", "qwen3": slidingWindow = qwenWindowed ? (window ?? 4096) : nil
        default: slidingWindow = nil
        }
    }

    /// transformers 5's `rope_parameters`: `rope_theta` next to the scaling fields.
    private struct RopeParameters: Decodable {
        var ropeTheta: Double?
        var scaling: RopeScaling
        enum CodingKeys: String, CodingKey { case ropeTheta = "rope_theta" }
        init(from decoder: Decoder) throws {
            ropeTheta = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Double.self, forKey: .ropeTheta)
            scaling = try RopeScaling(from: decoder)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode([Self.supportedModelTypes[modelType] ?? "LlamaForCausalLM"], forKey: .architectures)
        try c.encode("float32", forKey: .torchDtype)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(Double(rmsNormEps), forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encodeIfPresent(ropeScaling, forKey: .ropeScaling)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encodeIfPresent(bosTokenId, forKey: .bosTokenId)
        if eosTokenIds.count == 1 {
            try c.encode(eosTokenIds[0], forKey: .eosTokenId)
        } else if !eosTokenIds.isEmpty {
            try c.encode(eosTokenIds, forKey: .eosTokenId)
        }
        try c.encode(hiddenAct, forKey: .hiddenAct)
        if modelType == "llama" || modelType == "qwen3" { try c.encode(attentionBias, forKey: .attentionBias) }
        if modelType == "llama" { try c.encode(mlpBias, forKey: .mlpBias) }
        switch modelType {
        case "mistral":
            try c.encode(slidingWindow, forKey: .slidingWindow)
        case "qwen2", "qwen3":
            try c.encode(slidingWindow != nil, forKey: .useSlidingWindow)
            try c.encode(slidingWindow, forKey: .slidingWindow)
        default:
            break
        }
    }

    /// Rejects shapes and features this engine cannot run, naming the offending key.
    public func validate() throws {
        func fail(_ key: String, _ why: String) -> LlamaConfigError { .invalid(key: key, reason: why) }
        for (key, v) in [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                         ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                         ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim),
                         ("vocab_size", vocabSize), ("max_position_embeddings", maxPositionEmbeddings)] where v <= 0 {
            throw fail(key, "must be positive, got \(v)")
        }
        if numAttentionHeads % numKeyValueHeads != 0 {
            throw fail("num_key_value_heads", "\(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
        if headDim % 2 != 0 { throw fail("head_dim", "rotary embeddings need an even head_dim, got \(headDim)") }
        if !(rmsNormEps > 0) { throw fail("rms_norm_eps", "must be positive, got \(rmsNormEps)") }
        if !(ropeTheta > 0) { throw fail("rope_theta", "must be positive, got \(ropeTheta)") }
        if hiddenAct != "silu" { throw fail("hidden_act", "only silu is supported, got \(hiddenAct)") }
        guard Self.supportedModelTypes[modelType] != nil else {
            throw fail("model_type", "'\(modelType)' is not supported (llama, mistral, qwen2, qwen3)")
        }
        if mlpBias { throw fail("mlp_bias", "MLP projection biases are not supported") }
        if let w = slidingWindow, w <= 0 { throw fail("sliding_window", "must be positive, got \(w)") }
        if let s = ropeScaling {
            switch s.ropeType {
            case "default": break
            case "linear":
                if !(s.factor > 0) { throw fail("rope_scaling.factor", "must be positive") }
            case "llama3":
                guard s.factor > 0, let lo = s.lowFreqFactor, let hi = s.highFreqFactor, hi > lo,
                      let original = s.originalMaxPositionEmbeddings, original > 0
                else { throw fail("rope_scaling", "llama3 needs factor, low_freq_factor < high_freq_factor, original_max_position_embeddings") }
            default:
                throw fail("rope_scaling.rope_type", "unsupported rope scaling '\(s.ropeType)' (linear and llama3 are supported)")
            }
        }
    }

    /// Reads and validates `config.json`; errors name the file.
    public static func load(from url: URL) throws -> LlamaConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LlamaConfigError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        do { try HuggingFaceConfigKeys.check(data) } catch let LlamaConfigError.invalid(key, reason) {
            throw LlamaConfigError.unreadable(path: url.path, reason: "\(key): \(reason)")
        }
        let config: LlamaConfig
        do { config = try JSONDecoder().decode(LlamaConfig.self, from: data) } catch let error as DecodingError {
            throw LlamaConfigError.unreadable(path: url.path, reason: Self.describe(error))
        } catch {
            throw LlamaConfigError.unreadable(path: url.path, reason: "\(error)")
        }
        do { try config.validate() } catch let LlamaConfigError.invalid(key, reason) {
            throw LlamaConfigError.unreadable(path: url.path, reason: "\(key): \(reason)")
        }
        return config
    }

    /// Writes `config.json` atomically (sorted keys, pretty-printed).
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(self)), to: url)
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ ctx: DecodingError.Context) -> String { ctx.codingPath.map(\.stringValue).joined(separator: ".") }
        switch error {
        case let .keyNotFound(key, ctx):
            let prefix = path(ctx)
            return "missing key \(prefix.isEmpty ? "" : prefix + ".")\(key.stringValue)"
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx):
            return "\(path(ctx)): \(ctx.debugDescription)"
        case let .dataCorrupted(ctx):
            return "invalid JSON\(path(ctx).isEmpty ? "" : " at " + path(ctx)): \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

public enum LlamaConfigError: Error, CustomStringConvertible {
    case invalid(key: String, reason: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(key, reason): return "config \(key): \(reason)"
        case let .unreadable(path, reason): return "\(path): \(reason)"
        }
    }
}
