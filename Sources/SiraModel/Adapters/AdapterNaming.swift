/// Tensor names of adapter weights (DESIGN.md §6), so files line up with PEFT's.
///
/// Every adapter on a projection has the prefix
/// `base_model.model.model.layers.{i}.{self_attn|mlp}.{module}`; under it:
/// - LoRA: `.lora_A.weight` `[r, in]`, `.lora_B.weight` `[out, r]` (exactly PEFT's names);
/// - SiRA: `.sira.router.weight` `[E, in]`, `.sira.experts.{e}.lora_A.weight`, `.sira.experts.{e}.lora_B.weight`;
/// - MoLoRA: the same layout under `.molora.` (`.molora.router.weight`, `.molora.experts.{e}.lora_A.weight`, ...).
public enum AdapterNaming {
    static let attention = ["q_proj", "k_proj", "v_proj", "o_proj"]
    static let mlp = ["gate_proj", "up_proj", "down_proj"]
    public static let knownModules = attention + mlp

    /// `self_attn` or `mlp` for a Llama projection name; nil for anything else.
    public static func block(of module: String) -> String? {
        if attention.contains(module) { return "self_attn" }
        if mlp.contains(module) { return "mlp" }
        return nil
    }

    /// `base_model.model.model.layers.{layer}.{block}.{module}`.
    public static func prefix(layer: Int, module: String) -> String {
        "base_model.model.model.layers.\(layer).\(block(of: module) ?? "self_attn").\(module)"
    }

    public static func loraA(_ prefix: String) -> String { "\(prefix).lora_A.weight" }
    public static func loraB(_ prefix: String) -> String { "\(prefix).lora_B.weight" }
    public static func router(_ prefix: String, _ kind: AdapterType) -> String { "\(prefix).\(kind.rawValue).router.weight" }
    public static func expertA(_ prefix: String, _ kind: AdapterType, _ e: Int) -> String { "\(prefix).\(kind.rawValue).experts.\(e).lora_A.weight" }
    public static func expertB(_ prefix: String, _ kind: AdapterType, _ e: Int) -> String { "\(prefix).\(kind.rawValue).experts.\(e).lora_B.weight" }
}
