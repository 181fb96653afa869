import Foundation

/// Optimiser, schedule and bookkeeping settings of one training run.
public struct TrainerConfig: Codable, Sendable, Equatable {
    /// Optimizer steps in the whole run (the cosine schedule ends here).
    public var steps: Int
    public var learningRate: Double
    /// Linear warmup from `learningRate / warmupSteps` to `learningRate` over the first steps.
    public var warmupSteps: Int
    /// The cosine decays to `learningRate * minLearningRateRatio` at the last step.
    public var minLearningRateRatio: Double
    /// Decoupled weight decay, applied to matrices (2+ dimensions) only; vectors (norm weights) take none.
    public var weightDecay: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Clip the global gradient norm to this; nil disables clipping.
    public var maxGradNorm: Double?
    /// Micro-batches per optimizer step; their gradients are averaged.
    public var gradientAccumulation: Int
    /// Call the evaluation callback every this many steps (0: never).
    public var evaluateEvery: Int
    /// Save the resumable state every this many steps (0: only when asked); always at the end.
    public var checkpointEvery: Int
    /// Seeds the trainer's random stream (dropout seeds per micro-batch).
    public var seed: UInt64

    public init(steps: Int, learningRate: Double = 3e-4, warmupSteps: Int = 0, minLearningRateRatio: Double = 0.1,
                weightDecay: Double = 0, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                maxGradNorm: Double? = 1.0, gradientAccumulation: Int = 1, evaluateEvery: Int = 0,
                checkpointEvery: Int = 0, seed: UInt64 = 0) {
        self.steps = steps
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.minLearningRateRatio = minLearningRateRatio
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.maxGradNorm = maxGradNorm
        self.gradientAccumulation = gradientAccumulation
        self.evaluateEvery = evaluateEvery
        self.checkpointEvery = checkpointEvery
        self.seed = seed
    }

    /// The learning rate of step `step` (0-based):
    /// warmup `lr · (step+1) / warmup` for `step < warmup`, then
    /// `lr_min + ½ (lr − lr_min)(1 + cos(π · (step − warmup) / max(1, steps − warmup − 1)))`,
    /// so the first post-warmup step uses `lr` and the last uses `lr_min`.
    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return learningRate * Double(step + 1) / Double(warmupSteps) }
        let span = max(1, steps - warmupSteps - 1)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        let floor = learningRate * minLearningRateRatio
        return floor + 0.5 * (learningRate - floor) * (1 + cos(Double.pi * progress))
    }

    /// The settings that determine the trained weights: everything except how often the run
    /// evaluates and saves. A state may be resumed under a config with the same trajectory.
    public var trajectory: TrainerConfig {
        var t = self
        t.evaluateEvery = 0
        t.checkpointEvery = 0
        return t
    }

    /// Throws naming the first setting that cannot work.
    public func validate() throws {
        func fail(_ key: String, _ why: String) throws -> Never { throw TrainerError.invalidConfig(key: key, reason: why) }
        if steps < 1 { try fail("steps", "must be at least 1, got \(steps)") }
        if !(learningRate.isFinite && learningRate > 0) { try fail("lr", "must be positive, got \(learningRate)") }
        if warmupSteps < 0 { try fail("warmup", "must be >= 0, got \(warmupSteps)") }
        if !(minLearningRateRatio >= 0 && minLearningRateRatio <= 1) { try fail("min_lr_ratio", "must be in [0, 1], got \(minLearningRateRatio)") }
        if !(weightDecay >= 0) { try fail("weight_decay", "must be >= 0, got \(weightDecay)") }
        if !(beta1 >= 0 && beta1 < 1) { try fail("beta1", "must be in [0, 1), got \(beta1)") }
        if !(beta2 >= 0 && beta2 < 1) { try fail("beta2", "must be in [0, 1), got \(beta2)") }
        if let m = maxGradNorm, !(m > 0) { try fail("max_grad_norm", "must be positive, got \(m)") }
        if gradientAccumulation < 1 { try fail("gradient_accumulation", "must be at least 1, got \(gradientAccumulation)") }
        if evaluateEvery < 0 { try fail("eval_every", "must be >= 0") }
        if checkpointEvery < 0 { try fail("checkpoint_every", "must be >= 0") }
    }
}

public enum TrainerError: Error, CustomStringConvertible {
    case invalidConfig(key: String, reason: String)
    /// The saved state cannot be used: file and reason.
    case badState(path: String, reason: String)
    /// The loss or gradient of a step was NaN or infinite; the step was not applied.
    case nonFinite(step: Int, loss: Double, gradNorm: Double)

    public var description: String {
        switch self {
        case let .invalidConfig(key, reason): "training config key '\(key)': \(reason)"
        case let .badState(path, reason): "training state \(path): \(reason)"
        case let .nonFinite(step, loss, norm): "step \(step): loss \(loss), gradient norm \(norm) — not finite, step not applied (lower the learning rate?)"
        }
    }
}
