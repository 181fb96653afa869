import SiraKernels
/// A linear projection `y = x W0ᵀ (+ b)` (`W0` is `[out, in]` as HF stores it; the bias `[out]`,
/// HF name `….bias`, exists for Qwen2's q/k/v and `attention_bias` models) with the adapter hook:
/// the adapter runs right after the base GEMM and again in backward. A frozen bias changes no
/// gradient; a trainable one collects `Σ_rows dy`.
public final class Projection: @unchecked Sendable {
    public let weight: Parameter
    public let bias: Parameter?
    /// The PEFT `target_modules` name (`q_proj`, ..., `down_proj`).
    public let module: String
    public let inFeatures: Int
    public let outFeatures: Int
    public internal(set) var adapter: ProjectionAdapter?

    /// `name` is the weight's HF name (`….weight`); the bias is named `….bias`.
    init(name: String, module: String, inFeatures: Int, outFeatures: Int, bias: Bool = false) {
        weight = Parameter(name: name, value: Tensor(shape: [outFeatures, inFeatures]), trainable: false)
        self.bias = bias ? Parameter(name: String(name.dropLast("weight".count)) + "bias",
                                     value: Tensor(shape: [outFeatures]), trainable: false) : nil
        self.module = module
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// `y = x W0ᵀ + adapter(x)` for `x` `[tokens, in]`, `y` `[tokens, out]` (row stride `out`).
    /// `accumulate` adds into `y` instead (used to fold a residual add into the GEMM); the
    /// adapter only ever adds, so it sees the same contract either way.
    func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, tokens: Int, mode: AdapterMode,
                 accumulate: Bool = false, threads: Int) {
        sgemm(.noTranspose, .transpose, m: tokens, n: outFeatures, k: inFeatures,
              alpha: 1, a: x, lda: inFeatures, b: weight.value.pointer, ldb: inFeatures,
              beta: accumulate ? 1 : 0, c: y, ldc: outFeatures, threads: threads)
        if let b = bias?.value.pointer {
            for r in 0..<tokens {
                let row = y + r &* outFeatures
                for j in 0..<outFeatures { row[j] += b[j] }
            }
        }
        adapter?.forward(x: x, y: y, tokens: tokens, mode: mode)
    }

    /// Given `dy = ∂L/∂y`: `dx (+)= dy W0` (overwrites unless `accumulateDx`), `∂L/∂W0 += dyᵀ x`
    /// and `∂L/∂b += Σ_rows dy` when trainable, then the adapter's backward (which adds into `dx`).
    func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, tokens: Int,
                  accumulateDx: Bool, threads: Int) {
        sgemm(.noTranspose, .noTranspose, m: tokens, n: inFeatures, k: outFeatures,
              alpha: 1, a: dy, lda: outFeatures, b: weight.value.pointer, ldb: inFeatures,
              beta: accumulateDx ? 1 : 0, c: dx, ldc: inFeatures, threads: threads)
        if let grad = weight.grad {
            sgemm(.transpose, .noTranspose, m: outFeatures, n: inFeatures, k: tokens,
                  alpha: 1, a: dy, lda: outFeatures, b: x, ldb: inFeatures,
                  beta: 1, c: grad.pointer, ldc: inFeatures, threads: threads)
        }
        if let grad = bias?.grad?.pointer {
            for r in 0..<tokens {
                let row = dy + r &* outFeatures
                for j in 0..<outFeatures { grad[j] += row[j] }
            }
        }
        adapter?.backward(x: x, dy: dy, dx: dx, tokens: tokens)
    }
}
