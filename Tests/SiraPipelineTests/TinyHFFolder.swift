import Foundation
import SiraData
import SiraIO
import SiraModel

/// A tiny HF model folder shaped like a downloaded one: a byte-level tokenizer.json (one token per
/// byte, then `<|endoftext|>` 256, `<|im_start|>` 257, `<|im_end|>` 258, `<|eot|>` 259, no
/// post-processor), tokenizer_config.json (eos `<|im_end|>`), generation_config.json
/// (`eos_token_id: [256, 258, 259]`), a config.json as `transformers` writes it (extra keys,
/// `rms_norm_eps: 1e-05`, `torch_dtype`), a README, and random weights.
enum TinyHFFolder {
    static let vocab = 260
    static let stops = [256, 258, 259]

    static var config: LlamaConfig {
        LlamaConfig(hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1,
                    vocabSize: vocab, tieWordEmbeddings: false, maxPositionEmbeddings: 64)
    }

    /// Writes the folder. `forcing`: weights under which greedy decoding produces that token after
    /// any prefix (attention and MLP outputs zero, every embedding (1, 0, ...), only that row of
    /// lm_head sees the first dimension).
    static func write(to folder: URL, seed: UInt64 = 1, forcing: Int? = nil) throws {
        let model = LlamaModel(config: config, seed: seed)
        if let forcing {
            for layer in model.layers {
                layer.o.weight.value.buffer.update(repeating: 0)
                layer.down.weight.value.buffer.update(repeating: 0)
            }
            let d = config.hiddenSize
            model.embedTokens.value.buffer.update(repeating: 0)
            model.lmHead.value.buffer.update(repeating: 0)
            for t in 0 ..< vocab { model.embedTokens.value[t * d] = 1 }
            model.lmHead.value[forcing * d] = 1
        }
        try model.saveHuggingFace(to: folder)
        try AtomicFile.write(configJSON, to: folder.appendingPathComponent("config.json"))
        try AtomicFile.write(tokenizerJSON, to: folder.appendingPathComponent("tokenizer.json"))
        try AtomicFile.write(#"{"bos_token": null, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "tokenizer_class": "PreTrainedTokenizerFast"}"#,
                             to: folder.appendingPathComponent("tokenizer_config.json"))
        try AtomicFile.write(#"{"eos_token_id": [256, 258, 259], "transformers_version": "4.46.0"}"#,
                             to: folder.appendingPathComponent("generation_config.json"))
        try AtomicFile.write("# tiny\nA model card.\n", to: folder.appendingPathComponent("README.md"))
    }

    /// config.json as transformers writes it: keys the engine ignores, decimal floats.
    static var configJSON: String {
        """
        {
          "architectures": ["LlamaForCausalLM"],
          "attention_bias": false,
          "bos_token_id": null,
          "eos_token_id": 258,
          "head_dim": 8,
          "hidden_act": "silu",
          "hidden_size": 16,
          "initializer_range": 0.02,
          "intermediate_size": 24,
          "max_position_embeddings": 64,
          "mlp_bias": false,
          "model_type": "llama",
          "num_attention_heads": 2,
          "num_hidden_layers": 1,
          "num_key_value_heads": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": null,
          "rope_theta": 10000.0,
          "tie_word_embeddings": false,
          "torch_dtype": "float32",
          "transformers_version": "4.46.0",
          "use_cache": true,
          "vocab_size": 260
        }

        """
    }

    static var tokenizerJSON: String {
        var vocab: [JSONMember] = []
        for b in 0 ..< 256 { vocab.append(JSONMember(ByteLevelAlphabet.encode([UInt8(b)]), .number(Double(b)))) }
        let added: [JSONValue] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|eot|>"].enumerated().map { i, name in
            .object([JSONMember("id", .number(Double(256 + i))), JSONMember("content", .string(name)), JSONMember("special", .bool(true))])
        }
        let json: JSONValue = .object([
            JSONMember("added_tokens", .array(added)), JSONMember("normalizer", .null),
            JSONMember("pre_tokenizer", .object([JSONMember("type", .string("ByteLevel")), JSONMember("add_prefix_space", .bool(false)),
                                                  JSONMember("use_regex", .bool(true))])),
            JSONMember("post_processor", .null),
            JSONMember("model", .object([JSONMember("type", .string("BPE")), JSONMember("vocab", .object(vocab)), JSONMember("merges", .array([]))])),
        ])
        return JSONWriter.serialize(json)
    }
}
