import Foundation
import SiraPipeline
import SiraModel

/// Drives a `Trainer` inside a stage: resumes from the state in the stage's work folder, reports
/// progress (step, loss, tokens/s) and metrics, saves the state every `saveEvery` steps, and on
/// cancellation saves it and stops, so the next run continues at that step.
struct TrainingLoop {
    let context: StageContext
    let saveEvery: Int
    /// Metric prefix: `pretrain` or `train`.
    let prefix: String
    /// Token positions processed per step (batch × seq), for tokens/s.
    let tokensPerStep: Int
    /// Measures held-out losses (metric key → value) every `evalEvery` steps and at the last
    /// step; each value is recorded as a series point at that step.
    var evalEvery: Int = 0
    var evaluate: ((Int) throws -> [String: Double])?

    struct Outcome {
        var resumedAt: Int
        var finalLoss: Double
        var tokensPerSecond: Double
        var router: RouterStatistics?
        /// SiRA routing per decoder layer over the steps run here.
        var layers: LayerRouterStatistics
        var seconds: Double
    }

    func run<Source: BatchSource>(_ trainer: Trainer<LlamaModel, Source>) throws -> Outcome where Source.Batch == TokenBatch {
        let total = trainer.config.steps
        if try trainer.resumeIfSaved() {
            context.log("resumed from step \(trainer.step) of \(total) (\(context.workspace.relative(trainer.stateURL!)))")
        }
        let resumedAt = trainer.step
        var recentLoss: [Double] = []
        var tokens = 0
        var seconds = 0.0
        var router: RouterStatistics?
        var layers = LayerRouterStatistics()
        let started = Date()
        while !trainer.isFinished {
            let r = try trainer.trainStep()
            guard r.loss.isFinite else {
                throw StageFailure("\(prefix) loss diverged (\(r.loss)) at step \(r.step); lower the learning rate")
            }
            recentLoss.append(r.loss)
            if recentLoss.count > 20 { recentLoss.removeFirst() }
            tokens += tokensPerStep
            seconds += r.seconds
            if let s = r.router {
                if router == nil { router = s } else { router!.merge(s) }
                layers.add(trainer.model)
            }
            if let evaluate, evalEvery > 0, r.step % evalEvery == 0 || r.step == total {
                for (key, value) in try evaluate(r.step) { context.metric(key, value, step: r.step) }
            }
            let rate = seconds > 0 ? Double(tokens) / seconds : nil
            context.progress(step: r.step, of: total, loss: r.loss, tokensPerSecond: rate)
            if r.step % 10 == 0 || r.step == total {
                context.log(String(format: "\(prefix) step %d/%d loss %.4f lr %.2e grad %.3f", r.step, total, r.loss, r.learningRate, r.gradNorm))
            }
            if let url = trainer.stateURL, r.step % saveEvery == 0, r.step < total {
                try trainer.saveState(to: url)
            }
            if context.isCancelled {
                if let url = trainer.stateURL { try trainer.saveState(to: url) }
                context.log("stopping at step \(r.step); state saved")
                throw StageCancelled()
            }
        }
        let final = recentLoss.isEmpty ? .nan : recentLoss.reduce(0, +) / Double(recentLoss.count)
        return Outcome(resumedAt: resumedAt, finalLoss: final, tokensPerSecond: seconds > 0 ? Double(tokens) / seconds : 0,
                       router: router, layers: layers, seconds: Date().timeIntervalSince(started))
    }

    static func trainerConfig(steps: Int, lr: Double, warmup: Int, schedule: TrainSpec.Schedule, weightDecay: Double,
                              gradClip: Double, seed: Int, gradAccum: Int = 1) -> TrainerConfig {
        TrainerConfig(steps: steps, learningRate: lr, warmupSteps: warmup,
                      minLearningRateRatio: schedule == .constant ? 1 : 0.1, weightDecay: weightDecay,
                      maxGradNorm: gradClip > 0 ? gradClip : nil, gradientAccumulation: gradAccum, seed: UInt64(seed))
    }
}
