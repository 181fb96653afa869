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
