import Foundation
import SiraPipeline
import SiraData
import SiraIO
import SiraModel

/// `train@task:variant` (or `train:multitask` over every adapted task's train split): one
/// adapter on the frozen base. The trainer's state is saved in the stage's work folder every
/// `save_every` steps and when the run is stopped, so a rerun resumes at that step and ends with
/// the same weights as an uninterrupted run. Output: `adapter_config.json`,
/// `adapter_model.safetensors`, and the training metrics (final loss, tokens/s, SiRA routing).
struct TrainStage: PipelineStage {
    let tasks: [String]
    let variant: AdapterVariant
    let train: TrainSpec
    let multitask: Bool
    /// `evaluate.max_examples` (0: all): the cap on eval examples of the periodic evaluation
    /// during training (`train.eval_every`), which also never uses more than `evalCap`.
    var evalExamples: Int = 0

    static let evalCap = 64

    var id: StageID {
        multitask ? StageID(.train, variant: variant.name) : StageID(.train, task: tasks[0], variant: variant.name)
    }

    var dependencies: [StageID] { [StageID(.base)] + tasks.map { StageID(.tokenize, task: $0) } }

    /// The adapter's weights (SiraModel's `AdapterFiles`: PEFT-style names, its configuration in
    /// the metadata) and the configuration again as JSON, for people and packages.
    static let weightsName = "adapter_model.safetensors"
    static let configName = "adapter_config.json"

    struct Parameters: Codable {
        var tasks: [String]
        var adapter: AdapterConfig
        var train: TrainSpec
        /// Absent (nil) unless set, so pipelines without them keep their cache keys.
        var mixingTemperature: Double?
        var evalExamples: Int?
        /// Packed examples attend only to themselves (keys made before that computed otherwise).
        var packedAttention = "per-example"
    }

    /// Multitask mixing temperature (1: tasks in proportion to their size).
    var temperature: Double { multitask ? variant.mixingTemperature ?? 1 : 1 }

    /// How many eval examples of a task the periodic evaluation scores.
    func periodicEvalCount(_ available: Int) -> Int {
        min(available, Self.evalCap, evalExamples > 0 ? evalExamples : Int.max)
    }

    func parameters() throws -> String {
        try CacheKey.canonicalJSON(Parameters(tasks: tasks, adapter: variant.adapterConfig, train: train,
                                              mixingTemperature: temperature == 1 ? nil : temperature,
                                              evalExamples: train.evalEvery == nil ? nil : periodicEvalCount(Int.max)))
    }

    func run(_ context: StageContext) throws -> StageResult {
        let base = try context.input(StageID(.base))
        let shape = try LlamaConfig.load(model: base.folder)
        do { try TrainingMemory(config: shape, batch: train.batch, seq: train.seqLen).check(key: "train", batch: train.batch, seq: train.seqLen) } catch {
            throw StageFailure("\(error)")
        }
        do { try AdapterLimits.check(variant.adapterConfig, fits: shape) } catch {
            throw StageFailure("adapters.\(variant.name): \(error)")
        }
        let model = try LlamaModel.load(model: base.folder)
        model.threads = context.threads
        model.setTrainable(false)
        // Beyond the context length (max_position_embeddings, or a smaller sliding window, which
        // the engine does not apply) the base would not be computed as it was trained.
        guard train.seqLen <= model.config.contextLength else {
            throw StageFailure("train.seq_len \(train.seqLen) exceeds the base's context length \(model.config.contextLength)"
                               + (model.config.slidingWindow.map { " (its sliding_window is \($0))" } ?? " (max_position_embeddings)"))
        }
        let adapters = try AdapterSet(config: variant.adapterConfig, seed: UInt64(train.seed))
        adapters.attach(to: model)
        let shards = try tasks.map { try TokenizerFiles.shard(try context.input(StageID(.tokenize, task: $0)), .train) }
        let examples = shards.reduce(0) { $0 + $1.count }
        let pad = Int32(model.config.eosTokenIds.first ?? 0)
        let source = try ShardMixtureSource(shards: shards, batch: train.batch, seq: train.seqLen, seed: UInt64(train.seed), padID: pad,
                                            temperature: temperature)
        let trainer = try Trainer(
            model: model, source: source,
            config: TrainingLoop.trainerConfig(steps: train.steps, lr: train.lr, warmup: train.warmup, schedule: train.schedule,
                                               weightDecay: train.weightDecay, gradClip: train.gradClip, seed: train.seed,
                                               gradAccum: train.gradAccum ?? 1),
            stateURL: context.workFolder.appendingPathComponent("trainer.state")
        )
        context.log("\(variant.name) (\(variant.architecture.rawValue)) on \(tasks.joined(separator: ", ")): \(examples) examples, \(adapters.parameters.reduce(0) { $0 + $1.value.count }) adapter weights")
        var loop = TrainingLoop(context: context, saveEvery: train.saveEvery, prefix: "train", tokensPerStep: train.effectiveBatch * train.seqLen)
        if let every = train.evalEvery {
            // Eval-split loss during training: `train.eval_loss`, or one series per task
            // (`train.eval_loss.<task>`) for a multitask adapter.
            let evalShards = try tasks.map { try TokenizerFiles.shard(try context.input(StageID(.tokenize, task: $0)), .eval) }
            loop.evalEvery = every
            loop.evaluate = { _ in
                var out: [String: Double] = [:]
                for (task, shard) in zip(tasks, evalShards) {
                    let r = try EvalLoss.measure(model, shard: shard, count: periodicEvalCount(shard.count), padID: pad)
                    if r.scored > 0 { out[multitask ? SeriesKey.evalLoss(task: task) : SeriesKey.evalLoss] = r.loss }
                }
                return out
            }
        }
        let outcome = try loop.run(trainer)
        try AdapterFiles.write(adapters, to: context.outputFolder.appendingPathComponent(Self.weightsName))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(adapters.config), to: context.outputFolder.appendingPathComponent(Self.configName))
        var metrics: [String: Double] = [
            "train.final_loss": outcome.finalLoss,
            "train.tokens_per_second": outcome.tokensPerSecond,
            "train.adapter_parameters": Double(adapters.parameters.reduce(0) { $0 + $1.value.count }),
            "train.resumed_at_step": Double(outcome.resumedAt),
        ]
        for (key, value) in outcome.layers.metrics { metrics[key] = value }
        if let r = outcome.router {
            metrics["router.dropped_fraction"] = r.droppedFraction
            metrics["router.entropy"] = r.meanEntropy
            metrics["router.balance_loss"] = r.balanceLoss
            let load = r.load
            if let hi = load.max(), let lo = load.min() {
                metrics["router.load_max"] = hi
                metrics["router.load_min"] = lo
            }
        }
        return StageResult(metrics: metrics)
    }
}
