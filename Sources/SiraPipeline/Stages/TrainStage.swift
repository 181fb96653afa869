import Foundation
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

    var id: StageID {
        multitask ? StageID(.train, variant: variant.name) : StageID(.train, task: tasks[0], variant: variant.name)
    }

    var dependencies: [StageID] { [StageID(.base)] + tasks.map { StageID(.tokenize, task: $0) } }

    struct Parameters: Codable {
        var tasks: [String]
        var adapter: AdapterConfig
        var train: TrainSpec
    }

    func parameters() throws -> String {
        try CacheKey.canonicalJSON(Parameters(tasks: tasks, adapter: AdapterFiles.config(variant), train: train))
    }

    func run(_ context: StageContext) throws -> StageResult {
        let base = try context.input(StageID(.base))
        let model = try LlamaModel.load(huggingFaceFolder: base.folder)
        model.threads = context.threads
        model.setTrainable(false)
        let adapters = try AdapterSet(config: AdapterFiles.config(variant), seed: UInt64(train.seed))
        adapters.attach(to: model)
        var examples: [EncodedExample] = []
        for task in tasks { examples += try TokenShards.examples(try context.input(StageID(.tokenize, task: task)), split: .train) }
        let pad = Int32(model.config.eosTokenIds.first ?? 0)
        let source = try PackedBatchSource(examples: examples, batch: train.batch, seq: train.seqLen, seed: UInt64(train.seed), pad: pad)
        let trainer = try Trainer(
            model: model, source: source,
            config: TrainingLoop.trainerConfig(steps: train.steps, lr: train.lr, warmup: train.warmup, schedule: train.schedule,
                                               weightDecay: train.weightDecay, gradClip: train.gradClip, seed: train.seed),
            stateURL: context.workFolder.appendingPathComponent("trainer.state")
        )
        context.log("\(variant.name) (\(variant.architecture.rawValue)) on \(tasks.joined(separator: ", ")): \(examples.count) examples, \(adapters.parameters.reduce(0) { $0 + $1.value.count }) adapter weights")
        let outcome = try TrainingLoop(context: context, saveEvery: train.saveEvery, prefix: "train",
                                   tokensPerStep: train.batch * train.seqLen).run(trainer)
        try AdapterFiles.write(adapters, to: context.outputFolder, metadata: [
            "format": "pt", "sira.variant": variant.name, "sira.tasks": tasks.joined(separator: ","),
        ])
        var metrics: [String: Double] = [
            "train.final_loss": outcome.finalLoss,
            "train.tokens_per_second": outcome.tokensPerSecond,
            "train.adapter_parameters": Double(adapters.parameters.reduce(0) { $0 + $1.value.count }),
            "train.resumed_at_step": Double(outcome.resumedAt),
        ]
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
