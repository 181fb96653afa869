import Foundation
import SiraPipeline
import SiraModel

/// What a variant becomes once the base is known: a `lora-wide` (`matchParametersOf`) gets the
/// LoRA rank whose trainable parameter count is nearest the named variant's on this base, with
/// `lora_alpha` scaled so `alpha / r` stays as written; everything else is unchanged.
public enum VariantResolution {
    /// The shape of the manifest's base: the built-in's settings, an HF folder's config.json, or a
    /// GGUF file's metadata.
    static func baseShape(_ m: Manifest, _ workspace: Workspace) throws -> LlamaConfig {
        switch m.base {
        case let .builtin(b):
            return LlamaConfig(hiddenSize: b.hidden, intermediateSize: b.intermediate, numHiddenLayers: b.layers,
                               numAttentionHeads: b.heads, numKeyValueHeads: b.kvHeads, vocabSize: 1)
        case let .hf(path), let .gguf(path):
            return try LlamaConfig.load(model: workspace.resolve(path))
        }
    }

    /// The training shapes of `m` that cannot fit this machine (`TrainingMemory`), as
    /// `key: problem` lines; none when the base's shape cannot be read yet (a missing model file
    /// is the run's error to report).
    public static func memoryProblems(_ m: Manifest, _ workspace: Workspace) -> [String] {
        guard var shape = try? baseShape(m, workspace) else { return [] }
        var checks = [("train", m.train.batch, m.train.seqLen)]
        if case let .builtin(b) = m.base {
            if case let .train(vocab, _) = m.tokenizer { shape.vocabSize = vocab }
            if b.pretrainSteps > 0 { checks.append(("base.builtin", b.batch, b.seqLen)) }
        }
        return checks.compactMap { key, batch, seq in
            do { try TrainingMemory(config: shape, batch: batch, seq: seq).check(key: key, batch: batch, seq: seq); return nil } catch {
                return "\(error)"
            }
        }
    }

    static func resolve(_ v: AdapterVariant, in m: Manifest, shape: () throws -> LlamaConfig) throws -> AdapterVariant {
        guard let target = v.matchParametersOf else { return v }
        guard let reference = m.adapters.first(where: { VariantName(parsing: $0.name).variant == target && $0.matchParametersOf == nil }) else {
            throw StageFailure("\(v.name): matches the parameters of '\(target)', which is not a variant of this pipeline")
        }
        let config = try shape()
        let budget = AdapterParameterCount.count(reference.adapterConfig, model: config)
        var out = v
        out.r = AdapterParameterCount.loraRank(matching: budget, targetModules: v.targetModules, layers: v.layersToTransform, model: config)
        out.loraAlpha = v.loraAlpha * Double(out.r) / Double(v.r)
        return out
    }
}
