import Foundation

/// AdamW hyper-parameters (Loshchilov & Hutter; PyTorch `torch.optim.AdamW` semantics).
public struct AdamWConfig: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0.01) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay
    }
}

/// One AdamW step over `count` parameters, in place on `parameters`, `m`, `v`:
/// `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g²`, `m̂ = m / (1-b1^step)`, `v̂ = v / (1-b2^step)`,
/// `p = p - lr * (m̂ / (sqrt(v̂) + eps) + wd * p)` (decoupled weight decay on the old `p`).
/// `step` counts from 1. Pass `weightDecay: 0` in `config` for parameters that take no decay.
public func adamwStep(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                      m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                      step: Int, config: AdamWConfig, threads: Int? = nil) {
    precondition(step >= 1, "adamwStep: step counts from 1, got \(step)")
    let b1 = config.beta1, b2 = config.beta2
    let c1 = Float(1 / (1 - pow(Double(b1), Double(step))))
    let c2 = Float(1 / (1 - pow(Double(b2), Double(step))))
    let lr = config.learningRate, wd = config.weightDecay, eps = config.epsilon
    let shared = UncheckedSendable((parameters, gradients, m, v))
    parallelRanges(count, minimum: 65536, threads: threads) { range in
        let (parameters, gradients, m, v) = shared.value
        for i in range {
            let g = gradients[i]
            let mi = b1 * m[i] + (1 - b1) * g
            let vi = b2 * v[i] + (1 - b2) * g * g
            m[i] = mi
            v[i] = vi
            let p = parameters[i]
            parameters[i] = p - lr * ((mi * c1) / ((vi * c2).squareRoot() + eps) + wd * p)
        }
    }
}
