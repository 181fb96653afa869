import SiraIO
import SiraKernels
import Foundation

/// What one optimizer step did.
public struct TrainingStepReport: Sendable, Codable, Equatable {
    /// Steps completed, counting this one (1-based).
    public var step: Int
    public var learningRate: Double
    /// Mean over the step's micro-batches of task loss + auxiliary loss.
    public var loss: Double
    /// Mean over the micro-batches of the weighted auxiliary losses.
    public var auxiliaryLoss: Double
    /// Global gradient norm before clipping (of the averaged gradient).
    public var gradNorm: Double
    /// Scored tokens in the step.
    public var tokens: Int
    /// Wall-clock seconds for the step (forward, backward, optimizer).
    public var seconds: Double
    /// SiRA routing over the step's micro-batches and layers; nil without SiRA layers.
    public var router: RouterStatistics?
}

/// The training loop: AdamW (decoupled weight decay), linear warmup then cosine decay, global
/// gradient-norm clipping, gradient accumulation over micro-batches, a periodic evaluation
/// callback, router statistics per step, and resumable state.
///
/// Determinism: for a seed (and the kernels' thread count), the run is a pure function of the
/// model's initial weights and the batch stream: each micro-batch gets its dropout seed from the
/// trainer's xoshiro stream, whose state is saved with the weights, the AdamW moments, the step
/// and the source's cursor. `resume(from:)` then continues bit-identically to a run that never
/// stopped. The trainer knows no files except the state URL it is given.
public final class Trainer<Model: TrainableModel, Source: BatchSource> where Model.Batch == Source.Batch {
    public let model: Model
    public let source: Source
    public let config: TrainerConfig
    /// Where `checkpointEvery` (and the end of `run`) saves the state; nil: never saved.
    public let stateURL: URL?
    /// Steps completed.
    public private(set) var step = 0

    /// Called after every optimizer step.
    public var onStep: ((TrainingStepReport) -> Void)?
    /// Called after steps that are multiples of `evaluateEvery` (and after the last step), with
    /// the step count; the caller evaluates the model it holds. A throw stops `run`.
    public var onEvaluate: ((Int) throws -> Void)?

    private var rng: Xoshiro256
    private let parameters: [Parameter]
    private let firstMoment: [Tensor]
    private let secondMoment: [Tensor]

    public init(model: Model, source: Source, config: TrainerConfig, stateURL: URL? = nil) throws {
        try config.validate()
        self.model = model
        self.source = source
        self.config = config
        self.stateURL = stateURL
        rng = Xoshiro256(seed: config.seed)
        parameters = model.trainableParameters
        guard !parameters.isEmpty else { throw TrainerError.invalidConfig(key: "parameters", reason: "the model has nothing trainable") }
        var seen = Set<String>()
        for p in parameters {
            guard p.isTrainable else { throw TrainerError.invalidConfig(key: "parameters", reason: "'\(p.name)' is frozen") }
            guard seen.insert(p.name).inserted else { throw TrainerError.invalidConfig(key: "parameters", reason: "'\(p.name)' appears twice") }
        }
        firstMoment = parameters.map { Tensor(shape: $0.shape) }
        secondMoment = parameters.map { Tensor(shape: $0.shape) }
        for p in parameters { p.grad!.zero() }
    }

    public var isFinished: Bool { step >= config.steps }

    /// Runs steps until `config.steps` (or `until`, if smaller), saving the state every
    /// `checkpointEvery` steps and when it stops. Returns the reports of the steps it ran.
    @discardableResult
    public func run(until limit: Int? = nil) throws -> [TrainingStepReport] {
        let end = min(config.steps, limit ?? config.steps)
        var reports: [TrainingStepReport] = []
        while step < end {
            reports.append(try trainStep())
            let saveNow = config.checkpointEvery > 0 && step % config.checkpointEvery == 0
            if let url = stateURL, saveNow || step == end { try saveState(to: url) }
            if let onEvaluate, (config.evaluateEvery > 0 && step % config.evaluateEvery == 0) || step == config.steps {
                try onEvaluate(step)
            }
        }
        return reports
    }

    /// One optimizer step over `gradientAccumulation` micro-batches. Throws `nonFinite` (and
    /// leaves the weights, moments and step unchanged) when the loss or the gradient is NaN or
    /// infinite; the random stream and the source are rewound, so the step can be retried.
    public func trainStep() throws -> TrainingStepReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let micro = config.gradientAccumulation
        let rngBefore = rng, cursorBefore = source.cursor
        var lossSum = 0.0, auxSum = 0.0, tokens = 0
        var router: RouterStatistics?
        for _ in 0..<micro {
            let batch = try source.nextBatch()
            let result = model.trainMicroBatch(batch, mode: .training(seed: rng.next()))
            lossSum += Double(result.loss)
            auxSum += Double(result.auxiliary)
            tokens += result.tokens
            if let s = model.routerStatistics {
                if router == nil { router = s } else { router!.merge(s) }
            }
        }
        var grads = parameters.map { $0.grad!.buffer }
        if micro > 1 {
            let inv = 1 / Float(micro)
            for g in grads { for i in g.indices { g[i] *= inv } }
        }
        let norm: Float = if let maxNorm = config.maxGradNorm {
            clipGradNorm(grads, maxNorm: Float(maxNorm))
        } else {
            globalGradNorm(grads.map { UnsafeBufferPointer($0) })
        }
        guard lossSum.isFinite, norm.isFinite else {
            // Never let a NaN or an overflow into the weights or the saved state.
            for p in parameters { p.grad!.zero() }
            rng = rngBefore
            try source.restore(cursorBefore)
            throw TrainerError.nonFinite(step: step + 1, loss: lossSum / Double(micro), gradNorm: Double(norm))
        }
        let lr = config.learningRate(at: step)
        for (i, p) in parameters.enumerated() {
            let decay = p.shape.count >= 2 ? config.weightDecay : 0
            let adam = AdamWConfig(learningRate: Float(lr), beta1: Float(config.beta1), beta2: Float(config.beta2),
                                   epsilon: Float(config.epsilon), weightDecay: Float(decay))
            adamwStep(parameters: p.value.pointer, gradients: p.grad!.pointer, m: firstMoment[i].pointer,
                      v: secondMoment[i].pointer, count: p.value.count, step: step + 1, config: adam)
            p.grad!.zero()
        }
        grads.removeAll()
        step += 1
        let report = TrainingStepReport(step: step, learningRate: lr, loss: lossSum / Double(micro),
                                        auxiliaryLoss: auxSum / Double(micro), gradNorm: Double(norm), tokens: tokens,
                                        seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, router: router)
        onStep?(report)
        return report
    }

    /// Writes weights, AdamW moments, the random stream, the step and the source's cursor atomically.
    public func saveState(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var tensors: [(name: String, tensor: Tensor)] = []
        for (i, p) in parameters.enumerated() {
            tensors += [(p.name, p.value), (p.name + "::adam_m", firstMoment[i]), (p.name + "::adam_v", secondMoment[i])]
        }
        let state = TrainerState(step: step, rng: rng,
                                 cursorJSON: String(decoding: try encoder.encode(source.cursor), as: UTF8.self),
                                 configJSON: String(decoding: try encoder.encode(config), as: UTF8.self),
                                 tensors: tensors)
        try state.write(to: url)
    }

    /// Restores a state saved by `saveState` into this trainer, its model's parameters and its
    /// source. The configuration must be the one the state was saved with, except for how often
    /// it evaluates and saves (the schedule and the random stream depend on the rest); every
    /// trainable parameter must be present with its shape.
    /// Nothing is changed when it throws.
    public func resume(from url: URL) throws {
        let loaded = try TrainerState.read(from: url)
        func bad(_ reason: String) -> TrainerError { .badState(path: url.path, reason: reason) }
        guard let saved = try? JSONDecoder().decode(TrainerConfig.self, from: Data(loaded.configJSON.utf8)) else {
            throw bad("unreadable __metadata__.config")
        }
        guard saved.trajectory == config.trajectory else {
            throw bad("saved with a different training config (\(loaded.configJSON))")
        }
        guard loaded.step <= config.steps else { throw bad("step \(loaded.step) is beyond the run's \(config.steps) steps") }
        let cursor: Source.Cursor
        do { cursor = try JSONDecoder().decode(Source.Cursor.self, from: Data(loaded.cursorJSON.utf8)) } catch {
            throw bad("unreadable __metadata__.cursor: \(error)")
        }
        let file = loaded.file
        for p in parameters {
            for name in [p.name, p.name + "::adam_m", p.name + "::adam_v"] {
                guard let e = file.entry(name) else { throw bad("missing tensor '\(name)'") }
                guard e.shape == p.shape else { throw bad("tensor '\(name)' has shape \(e.shape), the model has \(p.shape)") }
            }
        }
        let known = Set(parameters.flatMap { [$0.name, $0.name + "::adam_m", $0.name + "::adam_v"] })
        let extra = file.names.filter { !known.contains($0) }
        guard extra.isEmpty else { throw bad("holds tensors the model does not train: \(extra.prefix(5).joined(separator: ", "))") }
        let staged: [(Tensor, Tensor, Tensor)]
        do {
            staged = try parameters.map { p in
                (try file.tensor(p.name), try file.tensor(p.name + "::adam_m"), try file.tensor(p.name + "::adam_v"))
            }
        } catch { throw bad("\(error)") }
        try source.restore(cursor)
        for (i, p) in parameters.enumerated() {
            p.value.copy(from: staged[i].0)
            firstMoment[i].copy(from: staged[i].1)
            secondMoment[i].copy(from: staged[i].2)
            p.grad!.zero()
        }
        rng = loaded.rng
        step = loaded.step
    }

    /// Resumes from `stateURL` when a state file is there; returns whether it did.
    @discardableResult
    public func resumeIfSaved() throws -> Bool {
        guard let url = stateURL, FileManager.default.fileExists(atPath: url.path) else { return false }
        try resume(from: url)
        return true
    }
}
