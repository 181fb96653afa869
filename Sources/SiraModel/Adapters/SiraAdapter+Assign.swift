import SiraIO
import SiraKernels
import Foundation

// SiRA step 2: capacity and expert dropout. No backward: the plan is a constant of the step
// (gates zeroed here get zero gradient through `keep`).
extension SiraAdapter {
    /// `C = ceil(factor · k · T / E)`, evaluated left to right in Double exactly as written (so that
    /// a Python reference `math.ceil(f * k * T / E)` agrees); nil factor means no limit.
    public static func capacity(factor: Double?, topK: Int, tokens: Int, experts: Int) -> Int? {
        guard let factor else { return nil }
        return Int((factor * Double(topK) * Double(tokens) / Double(experts)).rounded(.up))
    }

    /// The capacity per expert for a call of `tokens` tokens in `mode` (nil: unlimited).
    public func capacity(tokens: Int, mode: AdapterMode) -> Int? {
        switch mode {
        case .training: Self.capacity(factor: config.capacityFactor, topK: topK, tokens: tokens, experts: experts)
        case .evaluation: Self.capacity(factor: config.evalCapacityFactor, topK: topK, tokens: tokens, experts: experts)
        }
    }

    /// The routing plan of `choices`/`gates` `[T·k]`: GShard-order capacity, then in training each
    /// granted assignment `a` is dropped with probability `expertDropout`, drawn from
    /// `CounterHash(seed ⊕ layer salt, a)` so the mask does not depend on thread or visiting order;
    /// survivors are scaled by `1/(1-p)`.
    func assign(choices: [Int32], gates: [Float], tokens: Int, mode: AdapterMode) -> RoutingPlan {
        var dropout: ((Int) -> Float)?
        if case let .training(seed) = mode, config.expertDropout > 0 {
            let pDrop = Float(config.expertDropout), survive = 1 / (1 - Float(config.expertDropout))
            let key = CounterHash.hash(seed, dropoutSalt)
            dropout = { a in CounterHash.unitFloat(key, UInt64(a)) < pDrop ? 0 : survive }
        }
        return RoutingPlan(tokens: tokens, k: topK, experts: experts, choices: choices, gates: gates,
                           capacity: capacity(tokens: tokens, mode: mode), dropout: dropout)
    }
}
