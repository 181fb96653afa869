import Foundation

/// One unit of work in the stage graph. Implementations are value types holding their resolved
/// parameters; all state lives in the folders the context hands them, so a stage can run in
/// this process, a thread, or (Slurm) another machine on the same filesystem.
public protocol PipelineStage: Sendable {
    var id: StageID { get }
    var dependencies: [StageID] { get }
    /// Canonical JSON of everything besides inputs that decides the output (hyper-parameters,
    /// formats). Part of the cache key.
    func parameters() throws -> String
    /// Content hashes of inputs that are not other stages' outputs (source files), by name.
    /// Called right before the stage would run; part of the cache key.
    func externalInputs(_ workspace: Workspace) throws -> [String: String]
    /// Does the work: reads `context.inputs`, writes into `context.outputFolder` (published
    /// atomically afterwards), may keep resumable state in `context.workFolder`, and polls
    /// `context.checkCancelled()` at safe points.
    func run(_ context: StageContext) throws -> StageResult
}

extension PipelineStage {
    public func externalInputs(_ workspace: Workspace) throws -> [String: String] { [:] }
}

/// What a stage reports besides the files it wrote.
public struct StageResult: Sendable {
    /// Final metrics (`eval.exact_match`, `train.loss`, ...), kept in `_output.json` so a cached
    /// stage still shows them.
    public var metrics: [String: Double]
    /// Small facts for dependants and the summary (`snapshot` path, `records` count).
    public var info: [String: String]
    /// Files published outside the output folder that must keep existing for the cache entry to
    /// be valid (relative to the workspace), with their content hash.
    public var external: [StageOutput.External]

    public init(metrics: [String: Double] = [:], info: [String: String] = [:], external: [StageOutput.External] = []) {
        self.metrics = metrics
        self.info = info
        self.external = external
    }
}

/// Thrown by `StageContext.checkCancelled()` once the run is being stopped; the stage should have
/// saved its resumable state before polling.
public struct StageCancelled: Error, CustomStringConvertible {
    public var description: String { "cancelled" }
    public init() {}
}
