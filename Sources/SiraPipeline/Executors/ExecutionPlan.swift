import Foundation

/// A whole run as an executor sees it before the first launch (`StageExecutor.begin`): every
/// stage with its dependencies, how often a failed stage is retried, and how another process
/// can rebuild the stages (`source`). The scheduler still decides what runs; the plan lets a
/// batch-system executor submit the graph up front.
public struct ExecutionPlan: Sendable {
    public let runID: Int64
    public let pipeline: String
    public let workspace: Workspace
    /// Every stage of the run, dependencies first.
    public let stages: [any PipelineStage]
    /// Extra attempts after a failed one: an attempt numbered `retries + 1` that fails is final.
    public let retries: Int
    public let source: StageSource?
    /// Stages that run even when their output is cached (`run --force`).
    public let forced: Set<StageID>
    /// Set when the run is being stopped (SIGINT, SIGTERM, `cancel()`).
    let cancellation: CancellationFlag

    init(runID: Int64, pipeline: String, workspace: Workspace, stages: [any PipelineStage], retries: Int,
         source: StageSource?, forced: Set<StageID> = [], cancellation: CancellationFlag) {
        self.runID = runID
        self.pipeline = pipeline
        self.workspace = workspace
        let byID = Dictionary(stages.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let ordered = (try? StageGraph(nodes: stages.map { StageGraph.Node(id: $0.id, dependencies: $0.dependencies) }))?
            .stages.compactMap { byID[$0.id] }
        self.stages = ordered ?? stages
        self.retries = retries
        self.source = source
        self.forced = forced
        self.cancellation = cancellation
    }

    public var isCancelled: Bool { cancellation.isSet }
}

/// How a process other than the submitting one rebuilds a run's stages: a Slurm job runs
/// `sira-pipeline stage-exec`, which reads the source from the run's folder on the shared
/// filesystem, rebuilds every stage and runs the one it was given.
public enum StageSource: Sendable, Equatable {
    /// A manifest's pipeline (the program's `StagePlanner`); jobs read a copy of the manifest's bytes taken
    /// when the run was submitted, so editing the file meanwhile cannot change a running pipeline.
    case manifest(Manifest)
    /// The synthetic probe pipeline (`slurm-check`, executor tests).
    case probe(ProbePipeline)
}
