import Foundation
import SiraIO
import SiraModel

/// A plain LoRA as llama.cpp's GGUF LoRA adapter (what its `convert_lora_to_gguf.py` writes and
/// `llama-adapter.cpp` loads): `general.type = adapter`, `adapter.type = lora`,
/// `adapter.lora.alpha` (float32; llama.cpp scales by alpha / rank, as PEFT does), and per adapted
/// base tensor `blk.N.<tensor>.weight.lora_a` `[r, in]` and `.lora_b` `[out, r]` in PyTorch order
/// (GGUF dimensions `[in, r]` and `[r, out]`), F32. `general.architecture` must equal the base
/// file's: `llama` for Llama and Mistral bases, `qwen2`, `qwen3`. For `llama` the base's Q/K rows
/// are permuted by llama.cpp's converter, so the rows of B for q_proj/k_proj are permuted the same
/// way (A, which acts on the input, is not).
public enum GGUFLoRAExport {
    /// llama.cpp's architecture name for an HF `model_type`.
    public static func architecture(_ modelType: String) -> String? {
        ["llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3"][modelType]
    }

    /// Writes `weights` (PEFT names, `AdapterNaming`) of a plain LoRA on a base of shape `base` to
    /// `url`, atomically. A tensor llama.cpp has no name for is an error naming it.
    public static func write(config: AdapterConfig, weights: URL, base: LlamaConfig, baseName: String?, to url: URL) throws {
        guard config.type == .lora else {
            throw PackageUseError("only a plain LoRA exports to a llama.cpp GGUF adapter; this adapter is \(config.type.rawValue) (llama.cpp has no per-token mixture of LoRA experts)")
        }
        guard let arch = architecture(base.modelType) else {
            throw PackageUseError("the base's model_type '\(base.modelType)' has no llama.cpp architecture here (llama, mistral, qwen2, qwen3 do)")
        }
        let file = try SafetensorsFile(weights)
        var writer = GGUFWriter()
        writer.set("general.architecture", .string(arch))
        writer.set("general.type", .string("adapter"))
        if let baseName { writer.set("general.name", .string(baseName)) }
        writer.set("adapter.type", .string("lora"))
        writer.set("adapter.lora.alpha", .float32(Float(config.loraAlpha)))
        let prefix = "base_model.model."
        for name in file.names.sorted() {
            let isA = name.hasSuffix(".lora_A.weight"), isB = name.hasSuffix(".lora_B.weight")
            guard isA || isB, name.hasPrefix(prefix) else {
                throw PackageUseError("\(weights.path): tensor \(name) is not a LoRA weight of a base module")
            }
            let module = String(name.dropFirst(prefix.count).dropLast(".lora_A.weight".count))
            guard let target = GGUFTensorNames.gguf(module + ".weight") else {
                throw PackageUseError("\(weights.path): tensor \(name) adapts \(module), which has no llama.cpp tensor name")
            }
            let t = try file.tensor(name)
            var values = t.array
            if isB, LlamaConfig.ggufPermutesQK(arch) {
                let heads = module.hasSuffix("self_attn.q_proj") ? base.numAttentionHeads
                    : module.hasSuffix("self_attn.k_proj") ? base.numKeyValueHeads : nil
                if let heads {
                    guard t.shape.count == 2, t.shape[0] == heads * base.headDim else {
                        throw PackageUseError("\(weights.path): tensor \(name) has shape \(t.shape), not [\(heads * base.headDim), r] for the base")
                    }
                    values.withUnsafeMutableBufferPointer {
                        LlamaModel.permuteRotaryRows($0.baseAddress!, heads: heads, headDim: base.headDim, columns: t.shape[1])
                    }
                }
            }
            try writer.add(.init(name: target + (isA ? ".lora_a" : ".lora_b"), shape: t.shape, values: values))
        }
        try writer.write(to: url)
    }
}
