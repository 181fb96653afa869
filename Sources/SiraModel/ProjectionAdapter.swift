/// Where an adapter plugs into the base model: a projection `y = W0 x` (one of `target_modules`,
/// e.g. `q_proj`) calls its adapter after the frozen base GEMM, and again in backward.
///
/// Shapes: `x` is `[tokens, inFeatures]`, `y` and `dy` are `[tokens, outFeatures]`, row-major.
/// Contract:
/// - `forward` ADDS the adapter's delta into `y` (which already holds `W0 x`) and keeps what
///   `backward` needs (intermediates, routing decisions, dropout masks) until the next `forward`.
/// - `backward` receives the same `x` and the gradient `dy` of the loss w.r.t. `y`; it ACCUMULATES
///   (`+=`) into its parameters' `grad` and ADDS its contribution `∂L/∂x` into `dx`.
/// - `auxiliaryLoss` is the adapter's own loss term (SiRA's load balancing and z-loss, already
///   weighted) from the last `forward`; its gradient is included by `backward`.
public protocol ProjectionAdapter: AnyObject {
    var inFeatures: Int { get }
    var outFeatures: Int { get }
    var parameters: [Parameter] { get }
    var auxiliaryLoss: Float { get }

    func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, tokens: Int, mode: AdapterMode)
    func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, tokens: Int)
}

/// Training applies expert dropout and `capacity_factor`; evaluation applies `eval_capacity_factor`
/// and no dropout. The seed makes dropout masks reproducible for a given step.
public enum AdapterMode: Sendable, Equatable {
    case training(seed: UInt64)
    case evaluation
}
