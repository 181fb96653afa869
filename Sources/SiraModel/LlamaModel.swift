import SiraIO
import Foundation
import SiraKernels

/// A Llama-family decoder with HF conventions (DESIGN.md §5): embeddings, `num_hidden_layers`
/// blocks of RMSNorm → GQA causal attention with RoPE → residual → RMSNorm → SwiGLU MLP → residual,
/// final RMSNorm and `lm_head` (the same `Parameter` as `embed_tokens` when tied).
///
/// Weights are fp32 `Parameter`s named and shaped as in HF `model.safetensors` (`[out, in]`).
/// Adapters hook into the seven projections and run inside forward and backward
/// (`attachAdapters`). A model is used by one thread at a time; its compute is multi-threaded
/// internally (`threads`). Training entry points are in `LlamaForwardBackward.swift`, generation in
/// `LlamaGeneration.swift`.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let embedTokens: Parameter
    public let layers: [LlamaLayer]
    public let norm: Parameter
    /// `embedTokens` itself when `tie_word_embeddings`.
    public let lmHead: Parameter
    /// Every distinct base parameter with its HF name, in `model.safetensors` order.
    public let parameters: [Parameter]
    /// Threads for the GEMMs and the per-head attention work: `KernelThreads.count` unless set.
    /// Results are deterministic for a given count.
    public var threads: Int {
        get { threadOverride ?? KernelThreads.count }
        set { threadOverride = max(1, newValue) }
    }
    private var threadOverride: Int?
    /// Whether the loss head runs on scored positions only (see `lossHead`); false runs it on
    /// every position, the reference the tests compare against.
    var headOnScoredRowsOnly = true
    public private(set) var adapters: [AttachedAdapter] = []

    /// The projections an adapter can attach to (PEFT `target_modules` names).
    public static let projectionModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    /// RoPE cos/sin for this config's (scaled) frequencies; grows with the longest position asked.
    let rope: RotaryTable
    var activations: LlamaActivations?

    /// A model with zero weights; `init(config:seed:)` and the HF loader fill them.
    init(config: LlamaConfig) {
        do { try config.validate() } catch { preconditionFailure("invalid LlamaConfig: \(error)") }
        self.config = config
        let d = config.hiddenSize, v = config.vocabSize
        embedTokens = Parameter(name: "model.embed_tokens.weight", value: Tensor(shape: [v, d]), trainable: false)
        layers = (0..<config.numHiddenLayers).map { LlamaLayer(index: $0, config: config) }
        norm = Parameter(name: "model.norm.weight", value: Tensor(shape: [d]), trainable: false)
        lmHead = config.tieWordEmbeddings ? embedTokens
            : Parameter(name: "lm_head.weight", value: Tensor(shape: [v, d]), trainable: false)
        var all = [embedTokens]
        for layer in layers { all += layer.parameters }
        all.append(norm)
        if !config.tieWordEmbeddings { all.append(lmHead) }
        parameters = all
        rope = RotaryTable(inverseFrequencies: config.ropeInverseFrequencies,
                           maxPositions: min(config.maxPositionEmbeddings, 4096))
    }

    /// Random initialisation for a model trained from scratch (the built-in base): weights
    /// N(0, 0.02²) as HF's `initializer_range`, the residual-writing projections (`o_proj`,
    /// `down_proj`) scaled by 1/√(2·layers) as in GPT-2, norms 1. Deterministic for a seed.
    /// The base weights start trainable.
    public convenience init(config: LlamaConfig, seed: UInt64) {
        self.init(config: config)
        var rng = Xoshiro256(seed: seed)
        let residualStd = 0.02 / Double(2 * config.numHiddenLayers).squareRoot()
        for p in parameters {
            if p.name.hasSuffix(".bias") {
                for i in 0..<p.value.count { p.value[i] = Float(rng.nextNormal() * 0.02) }
            } else if p.shape.count == 1 {
                p.value.buffer.update(repeating: 1)
            } else {
                let std = p.name.hasSuffix("o_proj.weight") || p.name.hasSuffix("down_proj.weight") ? residualStd : 0.02
                for i in 0..<p.value.count { p.value[i] = Float(rng.nextNormal() * std) }
            }
        }
        setTrainable(true)
    }

    /// Freezes (adapter training) or unfreezes (pretraining) every base weight.
    public func setTrainable(_ trainable: Bool) {
        for p in parameters { p.setTrainable(trainable) }
    }

    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Calls `make(layer, module, inFeatures, outFeatures)` for every layer in `layers` (nil:
    /// all) and every module in `targetModules` and hooks the result into that projection,
    /// replacing any adapter already there. Module names must be in `projectionModules`.
    public func attachAdapters(targetModules: [String], layers only: [Int]? = nil,
                               make: (_ layer: Int, _ module: String, _ inFeatures: Int, _ outFeatures: Int) -> ProjectionAdapter) {
        for module in targetModules {
            precondition(Self.projectionModules.contains(module),
                         "unknown target module '\(module)' (expected one of \(Self.projectionModules.joined(separator: ", ")))")
        }
        for layer in layers where only?.contains(layer.index) ?? true {
            for module in targetModules {
                let projection = layer.projection(module)!
                let adapter = make(layer.index, module, projection.inFeatures, projection.outFeatures)
                precondition(adapter.inFeatures == projection.inFeatures && adapter.outFeatures == projection.outFeatures,
                             "adapter for layer \(layer.index) \(module) is \(adapter.inFeatures)→\(adapter.outFeatures), projection is \(projection.inFeatures)→\(projection.outFeatures)")
                projection.adapter = adapter
            }
        }
        refreshAdapterList()
    }

    /// Removes every adapter (the model is the plain base again).
    public func detachAdapters() {
        for layer in layers { for p in layer.projections { p.adapter = nil } }
        refreshAdapterList()
    }

    private func refreshAdapterList() {
        adapters = layers.flatMap { layer in
            layer.projections.compactMap { p in p.adapter.map { AttachedAdapter(layer: layer.index, module: p.module, adapter: $0) } }
        }
    }

    /// Sum of the attached adapters' auxiliary losses from the last forward.
    public var auxiliaryLoss: Float { adapters.reduce(0) { $0 + $1.adapter.auxiliaryLoss } }

    /// Number of scalar weights (tied weights counted once).
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

/// An adapter hooked into one projection.
public struct AttachedAdapter {
    public let layer: Int
    public let module: String
    public let adapter: ProjectionAdapter
}

/// One decoder block's weights, HF-named.
public final class LlamaLayer: @unchecked Sendable {
    public let index: Int
    public let inputLayernorm: Parameter
    public let q: Projection, k: Projection, v: Projection, o: Projection
    public let postAttentionLayernorm: Parameter
    public let gate: Projection, up: Projection, down: Projection
    /// Qwen3's per-head RMSNorm weights `[head_dim]` for q and k (`self_attn.q_norm.weight`,
    /// `self_attn.k_norm.weight`), applied after the projection and before RoPE; nil elsewhere.
    public let qNorm: Parameter?, kNorm: Parameter?

    init(index: Int, config c: LlamaConfig) {
        self.index = index
        let prefix = "model.layers.\(index)."
        let d = c.hiddenSize, qDim = c.numAttentionHeads * c.headDim, kvDim = c.numKeyValueHeads * c.headDim
        inputLayernorm = Parameter(name: prefix + "input_layernorm.weight", value: Tensor(shape: [d]), trainable: false)
        q = Projection(name: prefix + "self_attn.q_proj.weight", module: "q_proj", inFeatures: d, outFeatures: qDim, bias: c.qkvBias)
        k = Projection(name: prefix + "self_attn.k_proj.weight", module: "k_proj", inFeatures: d, outFeatures: kvDim, bias: c.qkvBias)
        v = Projection(name: prefix + "self_attn.v_proj.weight", module: "v_proj", inFeatures: d, outFeatures: kvDim, bias: c.qkvBias)
        o = Projection(name: prefix + "self_attn.o_proj.weight", module: "o_proj", inFeatures: qDim, outFeatures: d, bias: c.oBias)
        qNorm = c.qkNorm ? Parameter(name: prefix + "self_attn.q_norm.weight", value: Tensor(shape: [c.headDim]), trainable: false) : nil
        kNorm = c.qkNorm ? Parameter(name: prefix + "self_attn.k_norm.weight", value: Tensor(shape: [c.headDim]), trainable: false) : nil
        postAttentionLayernorm = Parameter(name: prefix + "post_attention_layernorm.weight", value: Tensor(shape: [d]), trainable: false)
        gate = Projection(name: prefix + "mlp.gate_proj.weight", module: "gate_proj", inFeatures: d, outFeatures: c.intermediateSize)
        up = Projection(name: prefix + "mlp.up_proj.weight", module: "up_proj", inFeatures: d, outFeatures: c.intermediateSize)
        down = Projection(name: prefix + "mlp.down_proj.weight", module: "down_proj", inFeatures: c.intermediateSize, outFeatures: d)
    }

    public var projections: [Projection] { [q, k, v, o, gate, up, down] }

    public func projection(_ module: String) -> Projection? { projections.first { $0.module == module } }

    /// In HF module order (weights, then biases and q/k norms where the family has them).
    public var parameters: [Parameter] {
        let attention = [q, k, v, o].flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) }
        return [inputLayernorm] + attention + [qNorm, kNorm].compactMap { $0 }
            + [postAttentionLayernorm, gate.weight, up.weight, down.weight]
    }

    /// Whether backward has to reach into this layer (a trainable weight or adapter parameter).
    var needsGradient: Bool {
        parameters.contains { $0.isTrainable }
            || projections.contains { $0.adapter?.parameters.contains { $0.isTrainable } ?? false }
    }
}
