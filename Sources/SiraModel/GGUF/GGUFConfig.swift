import SiraIO

extension LlamaConfig {
    /// The configuration a GGUF file's metadata describes (llama.cpp's `{arch}.*` keys).
    ///
    /// Architectures: `llama` (Llama 1–3.x and Mistral, which llama.cpp writes as `llama`), `qwen2`
    /// (Qwen2/Qwen2.5: q/k/v biases) and `qwen3` (per-head q/k RMSNorm, explicit
    /// `attention.key_length`). An attention bias on `llama`/`qwen3` (HF `attention_bias`) is read
    /// from the presence of `blk.0.attn_q.bias`, as llama.cpp itself does.
    /// Settings that would change the computation and that this engine does not implement are
    /// refused naming the key (another rope scaling type, partial rotary dimensions, per-dimension
    /// rope factors), never skipped.
    /// `general.architecture` values this engine computes; each is also the HF `model_type`.
    public static let supportedArchitectures = ["llama", "qwen2", "qwen3"]

    /// Whether llama.cpp's converter permuted the Q/K rows of this architecture for its rotary
    /// layout: it does so for `llama` only (its Qwen converters write HF's rows as they are, since
    /// llama.cpp runs those with the NEOX rotary layout, which is HF's).
    public static func ggufPermutesQK(_ arch: String) -> Bool { arch == "llama" }

    public static func fromGGUF(_ file: GGUFFile) throws -> LlamaConfig {
        let path = file.url.path
        guard let arch = file["general.architecture"]?.string else {
            throw GGUFError(path, "metadata general.architecture is missing (not a model file?)")
        }
        guard supportedArchitectures.contains(arch) else {
            throw GGUFError(path, "general.architecture '\(arch)' is not supported (llama — which llama.cpp also uses for Mistral —, qwen2 and qwen3 are)")
        }
        if let type = file["general.type"]?.string, type != "model" {
            throw GGUFError(path, "general.type is '\(type)': a \(type), not a base model")
        }
        func int(_ key: String) throws -> Int {
            guard let v = file["\(arch).\(key)"] else { throw GGUFError(path, "metadata \(arch).\(key) is missing") }
            guard let n = v.int, n > 0, n <= 1 << 24 else { throw GGUFError(path, "metadata \(arch).\(key) must be a positive integer, got \(v)") }
            return n
        }
        func optionalDouble(_ key: String) throws -> Double? {
            guard let v = file["\(arch).\(key)"] else { return nil }
            guard let d = v.double, d.isFinite, d > 0 else { throw GGUFError(path, "metadata \(arch).\(key) must be a positive number, got \(v)") }
            return d
        }
        let hidden = try int("embedding_length"), heads = try int("attention.head_count")
        let kvHeads = file["\(arch).attention.head_count_kv"] == nil ? heads : try int("attention.head_count_kv")
        let headDim = file["\(arch).attention.key_length"] == nil ? hidden / max(1, heads) : try int("attention.key_length")
        if file["\(arch).attention.value_length"] != nil, try int("attention.value_length") != headDim {
            throw GGUFError(path, "metadata \(arch).attention.value_length differs from the key length (not supported)")
        }
        if file["\(arch).rope.dimension_count"] != nil, try int("rope.dimension_count") != headDim {
            throw GGUFError(path, "metadata \(arch).rope.dimension_count \(try int("rope.dimension_count")) is not the head size \(headDim): partial rotary embeddings are not supported")
        }
        if file.tensor("rope_freqs.weight") != nil {
            throw GGUFError(path, "tensor rope_freqs.weight (per-dimension rope factors, Llama-3.1 style) is not supported yet")
        }
        var scaling: RopeScaling?
        if let type = file["\(arch).rope.scaling.type"]?.string, type != "none" {
            guard type == "linear", let factor = try optionalDouble("rope.scaling.factor") else {
                throw GGUFError(path, "metadata \(arch).rope.scaling.type '\(type)' is not supported (linear is)")
            }
            scaling = RopeScaling(ropeType: "linear", factor: factor)
        }
        let vocab = try file["\(arch).vocab_size"] != nil ? int("vocab_size")
            : (file["tokenizer.ggml.tokens"]?.array?.count ?? 0)
        guard vocab > 0 else { throw GGUFError(path, "neither \(arch).vocab_size nor tokenizer.ggml.tokens gives the vocabulary size") }
        var config = LlamaConfig(
            hiddenSize: hidden, intermediateSize: try int("feed_forward_length"), numHiddenLayers: try int("block_count"),
            numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim: headDim, vocabSize: vocab,
            rmsNormEps: Float(try optionalDouble("attention.layer_norm_rms_epsilon") ?? 1e-5),
            ropeTheta: try optionalDouble("rope.freq_base") ?? 10000, ropeScaling: scaling,
            tieWordEmbeddings: file.tensor("output.weight") == nil,
            maxPositionEmbeddings: file["\(arch).context_length"] == nil ? 2048 : try int("context_length"),
            bosTokenId: file["tokenizer.ggml.bos_token_id"]?.int,
            eosTokenIds: file["tokenizer.ggml.eos_token_id"]?.int.map { [$0] } ?? [],
            modelType: arch,
            attentionBias: arch != "qwen2" && file.tensor("blk.0.attn_q.bias") != nil
        )
        config.hiddenAct = "silu"
        do { try config.validate() } catch { throw GGUFError(path, "\(error)") }
        return config
    }
}
