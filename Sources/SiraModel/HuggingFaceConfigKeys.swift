import Foundation

/// Which `config.json` keys the engine accepts, so that a model is never silently mis-computed:
/// a key that changes the computation must be one the engine implements (`computed`), or
/// informational (`informational`: dtype, versions, token ids, initialisation, output flags), or
/// set to the value that means "off" (`neutral`). Anything else — MoE fields, attention sinks,
/// quantisation, other families' switches — is an error naming the key.
enum HuggingFaceConfigKeys {
    /// Keys `LlamaConfig` decodes and implements (values checked by `validate()` or below).
    static let computed: Set<String> = [
        "model_type", "architectures", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "rms_norm_eps",
        "rope_theta", "rope_scaling", "rope_parameters", "tie_word_embeddings", "max_position_embeddings",
        "hidden_act", "attention_bias", "mlp_bias", "sliding_window", "use_sliding_window", "layer_types",
        "max_window_layers",
    ]
    /// Keys that do not change the forward pass.
    static let informational: Set<String> = [
        "torch_dtype", "dtype", "transformers_version", "_name_or_path", "bos_token_id", "eos_token_id",
        "pad_token_id", "initializer_range", "use_cache", "tokenizer_class", "output_attentions",
        "output_hidden_states", "return_dict", "id2label", "label2id", "problem_type",
        "chunk_size_feed_forward", "is_encoder_decoder", "pretraining_tp",
    ]
    /// Keys accepted only with their neutral value: dropout is a training-time change.
    static let neutral: [String: Double] = ["attention_dropout": 0]
    /// Fields of `rope_scaling` / `rope_parameters` that `LlamaRotary` implements.
    static let ropeKeys: Set<String> = ["rope_type", "type", "factor", "low_freq_factor", "high_freq_factor",
                                        "original_max_position_embeddings", "rope_theta"]

    /// Throws `LlamaConfigError.invalid` naming the first key (sorted) the engine does not implement.
    static func check(_ data: Data) throws {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LlamaConfigError.invalid(key: "config.json", reason: "not a JSON object")
        }
        for key in object.keys.sorted() {
            let value = object[key]!
            if computed.contains(key) || informational.contains(key) { continue }
            if let off = neutral[key] {
                if let number = value as? NSNumber, number.doubleValue == off { continue }
                throw LlamaConfigError.invalid(key: key, reason: "only \(off) is supported, got \(value)")
            }
            throw LlamaConfigError.invalid(key: key, reason: "not supported by this engine (it would change the computation, or is unknown)")
        }
        if let model = object["model_type"] as? String {
            guard let expected = LlamaConfig.supportedModelTypes[model] else {
                throw LlamaConfigError.invalid(key: "model_type", reason: "'\(model)' is not supported (llama, mistral, qwen2, qwen3)")
            }
            if let names = object["architectures"] as? [String], names != [expected] {
                throw LlamaConfigError.invalid(key: "architectures", reason: "\(names) does not match model_type '\(model)' (\(expected))")
            }
        }
        for key in ["rope_scaling", "rope_parameters"] {
            guard let rope = object[key] as? [String: Any] else { continue }
            for field in rope.keys.sorted() where !ropeKeys.contains(field) {
                throw LlamaConfigError.invalid(key: "\(key).\(field)", reason: "not supported by this engine")
            }
        }
        if let types = object["layer_types"] as? [String], let bad = types.first(where: { $0 != "full_attention" && $0 != "sliding_attention" }) {
            throw LlamaConfigError.invalid(key: "layer_types", reason: "layer type '\(bad)' is not supported")
        }
    }
}
