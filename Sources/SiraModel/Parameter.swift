/// A named weight with its gradient. Names are the on-disk names: HF names for base weights
/// (`model.layers.0.self_attn.q_proj.weight`), PEFT-style names for adapters
/// (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`), DESIGN.md §6.
///
/// `grad` exists only for trainable parameters; backward passes accumulate into it (`+=`), and the
/// optimizer zeroes it after each step, which is what makes gradient accumulation over micro-batches work.
public final class Parameter: @unchecked Sendable {
    public let name: String
    public let value: Tensor
    public private(set) var grad: Tensor?

    public init(name: String, value: Tensor, trainable: Bool) {
        self.name = name
        self.value = value
        grad = trainable ? Tensor(shape: value.shape) : nil
    }

    public var isTrainable: Bool { grad != nil }
    public var shape: [Int] { value.shape }

    /// Freezes or unfreezes the parameter; freezing drops the gradient storage.
    public func setTrainable(_ trainable: Bool) {
        if trainable, grad == nil { grad = Tensor(shape: value.shape) }
        if !trainable { grad = nil }
    }
}
