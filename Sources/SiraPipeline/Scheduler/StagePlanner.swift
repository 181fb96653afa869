/// Builds the stages of one run of a manifest. Orchestration does not know the stage
/// implementations (they need the model): the program passes the product's planner
/// (`SiraStages.PipelinePlanner.plan`), tests pass synthetic stages.
public typealias StagePlanner = @Sendable (Manifest, Workspace) throws -> [any PipelineStage]
