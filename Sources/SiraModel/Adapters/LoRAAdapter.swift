import SiraIO
import SiraKernels
/// Plain LoRA on one projection: `y = W0 x + s · B A x`, `s = alpha / r` (DESIGN.md §5).
///
/// A `[r, in]` starts Kaiming-uniform and B `[out, r]` at zero, as PEFT does, so a fresh adapter
/// leaves the base model unchanged while A still receives gradient through B's first update.
public final class LoRAAdapter: ProjectionAdapter {
    public let inFeatures: Int
    public let outFeatures: Int
    public let rank: Int
    public let scaling: Float
    /// `lora_A.weight` `[r, in]`.
    public let a: Parameter
    /// `lora_B.weight` `[out, r]`.
    public let b: Parameter

    /// `h = A x` from the last forward, `[tokens, r]`, for backward.
    private let hidden = Scratch()
    private let workspace: AdapterWorkspace
    private var lastTokens = 0

    public init(prefix: String, inFeatures: Int, outFeatures: Int, rank: Int, alpha: Double, seed: UInt64,
                workspace: AdapterWorkspace = AdapterWorkspace()) {
        self.workspace = workspace
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.rank = rank
        scaling = Float(alpha / Double(rank))
        a = Parameter(name: AdapterNaming.loraA(prefix), value: Tensor(shape: [rank, inFeatures]), trainable: true)
        b = Parameter(name: AdapterNaming.loraB(prefix), value: Tensor(shape: [outFeatures, rank]), trainable: true)
        var rng = Xoshiro256(seed: CounterHash.hash(seed, CounterHash.stableHash(prefix)))
        AdapterMath.kaimingUniform(a.value, fanIn: inFeatures, rng: &rng)
    }

    public var parameters: [Parameter] { [a, b] }
    public var auxiliaryLoss: Float { 0 }

    public func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, tokens: Int, mode: AdapterMode) {
        lastTokens = tokens
        let h = hidden.reserve(tokens * rank)
        sgemm(.noTranspose, .transpose, m: tokens, n: rank, k: inFeatures, alpha: 1,
                         a: x, lda: inFeatures, b: a.value.pointer, ldb: inFeatures, beta: 0, c: h, ldc: rank)
        sgemm(.noTranspose, .transpose, m: tokens, n: outFeatures, k: rank, alpha: scaling,
                         a: h, lda: rank, b: b.value.pointer, ldb: rank, beta: 1, c: y, ldc: outFeatures)
    }

    /// `dB += s dyᵀ h`, `dh = s dy B`, `dA += dhᵀ x`, `dx += dh A`.
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, tokens: Int) {
        precondition(tokens == lastTokens, "LoRA backward for \(tokens) tokens after a forward of \(lastTokens)")
        let h = hidden.pointer
        let dh = workspace.hiddenGradient.reserve(tokens * rank)
        if let gb = b.grad {
            sgemm(.transpose, .noTranspose, m: outFeatures, n: rank, k: tokens, alpha: scaling,
                             a: dy, lda: outFeatures, b: h, ldb: rank, beta: 1, c: gb.pointer, ldc: rank)
        }
        sgemm(.noTranspose, .noTranspose, m: tokens, n: rank, k: outFeatures, alpha: scaling,
                         a: dy, lda: outFeatures, b: b.value.pointer, ldb: rank, beta: 0, c: dh, ldc: rank)
        if let ga = a.grad {
            sgemm(.transpose, .noTranspose, m: rank, n: inFeatures, k: tokens, alpha: 1,
                             a: dh, lda: rank, b: x, ldb: inFeatures, beta: 1, c: ga.pointer, ldc: inFeatures)
        }
        sgemm(.noTranspose, .noTranspose, m: tokens, n: inFeatures, k: rank, alpha: 1,
                         a: dh, lda: rank, b: a.value.pointer, ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
    }
}
