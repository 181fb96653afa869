import SiraKernels
/// A bias-free linear projection `y = x W0ᵀ` (`W0` is `[out, in]` as HF stores it) with the
/// adapter hook: the adapter runs right after the base GEMM and again in backward.
public final class Projection: @unchecked Sendable {
    public let weight: Parameter
    /// The PEFT `target_modules` name (`q_proj`, ..., `down_proj`).
    public let module: String
    public let inFeatures: Int
    public let outFeatures: Int
    public internal(set) var adapter: ProjectionAdapter?

    init(name: String, module: String, inFeatures: Int, outFeatures: Int) {
        weight = Parameter(name: name, value: Tensor(shape: [outFeatures, inFeatures]), trainable: false)
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
        adapter?.forward(x: x, y: y, tokens: tokens, mode: mode)
    }

    /// Given `dy = ∂L/∂y`: `dx (+)= dy W0` (overwrites unless `accumulateDx`), `∂L/∂W0 += dyᵀ x`
    /// when the weight is trainable, then the adapter's backward (which adds into `dx`).
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
        adapter?.backward(x: x, dy: dy, dx: dx, tokens: tokens)
    }
}
