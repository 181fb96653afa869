import Foundation
import SiraPipeline
import SiraModel

/// Turns a manifest into the stages of one run (the graph of `StageGraph`, each node with its
/// implementation and resolved parameters). `run`, `watch` and the Slurm executor all plan
/// through here, so every entry point runs the same pipeline.
public enum PipelinePlanner {
    /// Folder-template tasks (`from: data/inbox/{task}/*.jsonl`) become one task per folder
    /// present now (TaskFolders); a template that finds no folder yet is an error.
    public static func plan(_ manifest: Manifest, _ workspace: Workspace) throws -> [any PipelineStage] {
        let m = TaskFolders.expand(manifest, in: workspace)
        if m.adaptedTasks.isEmpty, let template = manifest.tasks.first(where: { TaskFolders.isTemplate($0.from) }) {
            throw StageFailure("no task folder yet for '\(template.from)': drop a folder of data into \(TaskFolders.parent(template.from))/ (its name is the task's)")
        }
        let graph = try StageGraph(manifest: m)
        var stages: [any PipelineStage] = []
        let adapted = m.adaptedTasks.map(\.name)
        let baseName: String
        switch m.base {
        case let .builtin(b): baseName = "builtin-llama-\(b.layers)x\(b.hidden)"
        case let .hf(path), let .gguf(path): baseName = (path as NSString).lastPathComponent
        }
        var shape: LlamaConfig?
        let baseShape = { () throws -> LlamaConfig in
            if let shape { return shape }
            shape = try VariantResolution.baseShape(m, workspace)
            return shape!
        }
        for node in graph.stages {
            let id = node.id
            switch id.kind {
            case .ingest:
                stages.append(IngestStage(task: m.task(named: id.task!)!))
            case .tokenizer:
                stages.append(TokenizerStage(spec: m.tokenizer))
            case .tokenize:
                let task = m.task(named: id.task!)
                stages.append(TokenizeStage(task: id.task!, template: task?.template, system: task?.system))
            case .base:
                let corpus: [String]
                if case let .builtin(b) = m.base { corpus = b.corpus } else { corpus = [] }
                stages.append(BaseStage(base: m.base, corpus: corpus))
            case .train:
                let v = try VariantResolution.resolve(m.variant(named: id.variant!)!, in: m, shape: baseShape)
                let multitask = v.kind == .multitask
                var train = m.train
                if let seed = v.seed { train.seed = seed }
                stages.append(TrainStage(tasks: multitask ? adapted : [id.task!], variant: v, train: train, multitask: multitask,
                                         evalExamples: m.evaluate.maxExamples))
            case .evaluate:
                let variant = id.variant == StageID.baseVariant ? nil : id.variant
                let trained = variant.map { name -> StageID in
                    m.variant(named: name)!.kind == .multitask ? StageID(.train, variant: name) : StageID(.train, task: id.task!, variant: name)
                }
                stages.append(EvaluateStage(task: id.task!, variant: variant, trained: trained, evaluate: m.evaluate))
            case .merge:
                stages.append(MergeStage(tasks: adapted, variants: m.adapters, dependencies: node.dependencies))
            case .package where id.variant == BundlePackageStage.variantName:
                stages.append(BundlePackageStage(pipeline: m.name, zstdLevel: m.package.zstdLevel, baseName: baseName))
            case .package:
                let v = m.variant(named: id.variant!)!
                let multitask = v.kind == .multitask
                stages.append(PackageStage(pipeline: m.name, tasks: multitask ? adapted : [id.task!], variant: v,
                                           multitask: multitask, zstdLevel: m.package.zstdLevel, baseName: baseName))
            }
        }
        // The implementations must declare exactly the graph's edges (one source of truth).
        for (node, stage) in zip(graph.stages, stages) where Set(node.dependencies) != Set(stage.dependencies) || node.id != stage.id {
            throw StageFailure("internal: stage \(node.id) declares \(stage.dependencies), the graph has \(node.dependencies)")
        }
        return stages
    }
}
