import Foundation
import SiraIO

/// llama.cpp's tensor names ↔ Hugging Face's (DESIGN.md §5: GGUF files carry the same tensors
/// under llama.cpp names).
public enum GGUFTensorNames {
    static let blockParts: [String: String] = [
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
        "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
    ]
    static let globals: [String: String] = ["token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"]

    /// `blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`; nil for a name with no
    /// HF counterpart.
    public static func huggingFace(_ name: String) -> String? {
        let parts = name.split(separator: ".").map(String.init)
        guard let suffix = parts.last, suffix == "weight" || suffix == "bias" else { return nil }
        if parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, let hf = blockParts[parts[2]] {
            return "model.layers.\(layer).\(hf).\(suffix)"
        }
        if parts.count == 2, let hf = globals[parts[0]] { return "\(hf).\(suffix)" }
        return nil
    }

    /// The inverse of `huggingFace`.
    public static func gguf(_ name: String) -> String? {
        let parts = name.split(separator: ".").map(String.init)
        guard let suffix = parts.last else { return nil }
        if parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) {
            let module = parts[3 ..< parts.count - 1].joined(separator: ".")
            if let g = blockParts.first(where: { $0.value == module })?.key { return "blk.\(layer).\(g).\(suffix)" }
        }
        let module = parts.dropLast().joined(separator: ".")
        if let g = globals.first(where: { $0.value == module })?.key { return "\(g).\(suffix)" }
        return nil
    }
}

extension LlamaModel {
    /// Loads a base model from a GGUF file (dequantised to fp32): configuration from the metadata,
    /// every tensor mapped to its HF parameter with its exact shape. A tensor the model has no
    /// parameter for, or a parameter the file lacks, is an error naming it. llama.cpp's converter
    /// permutes the rows of Q and K (weights and, where present, biases) in `llama`-architecture files for its rotary layout (pairs
    /// `(2i, 2i+1)` instead of HF's `(i, i + d/2)` within each head); that is undone exactly.
    /// The weights are frozen.
    public static func load(gguf url: URL) throws -> LlamaModel {
        let file = try GGUFFile(url)
        let config = try LlamaConfig.fromGGUF(file)
        let model = LlamaModel(config: config)
        let path = url.path
        var byName: [String: Parameter] = [:]
        for p in model.parameters { byName[p.name] = p }
        var filled = Set<String>()
        for t in file.tensors {
            guard let hf = GGUFTensorNames.huggingFace(t.name), let p = byName[hf] else {
                throw GGUFError(path, "tensor \(t.name) is not used by a \(file["general.architecture"]?.string ?? "") model of this shape (unknown to this engine)")
            }
            guard t.shape == p.shape else {
                throw GGUFError(path, "tensor \(t.name): shape \(t.shape) does not match the metadata's \(p.shape) for \(hf)")
            }
            try file.dequantize(t, into: p.value.pointer)
            if LlamaConfig.ggufPermutesQK(config.modelType), let heads = rotaryHeads(hf, config) {
                unpermuteRotaryRows(p.value.pointer, heads: heads, headDim: config.headDim, columns: p.shape.count == 2 ? p.shape[1] : 1)
            }
            try checkFinite(p, file: path, tensor: t.name)
            filled.insert(hf)
        }
        if let missing = model.parameters.first(where: { !filled.contains($0.name) }) {
            throw GGUFError(path, "tensor \(GGUFTensorNames.gguf(missing.name) ?? missing.name) (\(missing.name)) is missing")
        }
        return model
    }

    /// The head count of a Q or K projection tensor (weight or bias), nil for any other.
    static func rotaryHeads(_ hf: String, _ c: LlamaConfig) -> Int? {
        if hf.hasSuffix("self_attn.q_proj.weight") || hf.hasSuffix("self_attn.q_proj.bias") { return c.numAttentionHeads }
        if hf.hasSuffix("self_attn.k_proj.weight") || hf.hasSuffix("self_attn.k_proj.bias") { return c.numKeyValueHeads }
        return nil
    }

    /// The inverse of `unpermuteRotaryRows`: HF's rows in llama.cpp's `llama` layout (what its
    /// converter does to Q and K weights, and to the rows of a LoRA's B for them).
    public static func permuteRotaryRows(_ w: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, columns: Int) {
        reorderRotaryRows(w, heads: heads, headDim: headDim, columns: columns, toLlamaCpp: true)
    }

    /// Row `h·d + 2i + j` of llama.cpp's layout is HF's row `h·d + j·d/2 + i` (d = head size).
    static func unpermuteRotaryRows(_ w: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, columns: Int) {
        reorderRotaryRows(w, heads: heads, headDim: headDim, columns: columns, toLlamaCpp: false)
    }

    /// Moves each head's rows between HF's rotary layout (pairs `(i, i + d/2)`) and llama.cpp's
    /// (pairs `(2i, 2i + 1)`), in place.
    private static func reorderRotaryRows(_ w: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, columns: Int, toLlamaCpp: Bool) {
        let half = headDim / 2
        var head = [Float](repeating: 0, count: headDim * columns)
        for h in 0 ..< heads {
            let base = w + h * headDim * columns
            head.withUnsafeMutableBufferPointer { buf in
                for i in 0 ..< half {
                    for j in 0 ..< 2 {
                        let (llamaCpp, hf) = (2 * i + j, j * half + i)
                        let (to, from) = toLlamaCpp ? (llamaCpp, hf) : (hf, llamaCpp)
                        (buf.baseAddress! + to * columns).update(from: base + from * columns, count: columns)
                    }
                }
                base.update(from: buf.baseAddress!, count: headDim * columns)
            }
        }
    }

    /// Non-finite weights are refused at load with the tensor's name (they would poison every
    /// output, and NaN defeats comparisons in the kernels).
    static func checkFinite(_ p: Parameter, file: String, tensor: String) throws {
        let v = p.value.pointer
        for i in 0 ..< p.value.count where !v[i].isFinite {
            throw GGUFError(file, "tensor \(tensor): value \(i) is \(v[i]) (non-finite weights are refused)")
        }
    }
}
