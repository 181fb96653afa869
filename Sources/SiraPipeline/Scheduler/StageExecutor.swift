import Foundation

/// Where stage attempts run. `LocalExecutor` runs them on threads of this process; a Slurm
/// executor submits each attempt as a job running `sira-pipeline stage-exec` and reports back
/// from the job's result file. The scheduler owns ordering, retries and recording; an executor
/// only runs what it is given.
public protocol StageExecutor: AnyObject, Sendable {
    /// Recorded on every stage run (`local`, `slurm`).
    var name: String { get }
    /// Starts `attempt` and calls `completion` exactly once, from any thread. Returns an external
    /// id when the executor has one (a Slurm job id).
    @discardableResult
    func launch(_ attempt: StageAttempt, completion: @escaping @Sendable (AttemptOutcome) -> Void) -> String?
    /// Called once before a run's first launch with the whole run. An executor that hands the
    /// graph to a batch system up front (Slurm: job arrays with dependencies) submits it here;
    /// throwing fails the run before any stage starts. `launch` then attaches to what was submitted.
    func begin(_ plan: ExecutionPlan) throws
    /// Called once when the run is over, whatever its outcome: releases what `begin` set up
    /// (Slurm: cancels jobs of stages that will never run).
    func end(_ plan: ExecutionPlan)
    /// True when the executor decides how many stages run at once (Slurm does): then the
    /// scheduler's `jobs` limit does not hold launches back.
    var schedulesConcurrency: Bool { get }
}

extension StageExecutor {
    public func begin(_ plan: ExecutionPlan) throws {}
    public func end(_ plan: ExecutionPlan) {}
    public var schedulesConcurrency: Bool { false }
}

/// Runs each attempt on its own thread in this process. Stages are CPU-bound and long, so they
/// get real threads (not the cooperative pool) with a stack large enough for deep recursion.
public final class LocalExecutor: StageExecutor {
    public let name = "local"
    public init() {}

    public func launch(_ attempt: StageAttempt, completion: @escaping @Sendable (AttemptOutcome) -> Void) -> String? {
        let thread = Thread {
            completion(StageRunner.perform(attempt))
        }
        thread.stackSize = 16 << 20
        thread.name = attempt.stage.id.description
        thread.start()
        return nil
    }
}
