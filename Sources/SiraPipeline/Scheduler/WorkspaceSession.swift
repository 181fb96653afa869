import Foundation

public struct RunOptions: Sendable {
    /// Overrides the manifest's `jobs` and `retries` when set (`--jobs`).
    public var jobs: Int?
    public var retries: Int?
    /// Why the run happened: `manual`, `schedule`, `watch`, `resume`.
    public var trigger: String
    public var heartbeatInterval: Double
    /// First retry delay in seconds (doubles per attempt).
    public var backoff: Double
    /// How another process rebuilds this run's stages (a Slurm job running `stage-exec`); nil
    /// when the stages exist only in this process (the local executor needs nothing else).
    public var source: StageSource?
    /// Runs this run's stages instead of the session's executor (`run --executor`, a manifest's
    /// `executor: slurm`).
    public var executor: StageExecutor?
    /// Globs over stage ids whose stages run even when cached (`ForcedStages`).
    public var force: [String]

    public init(jobs: Int? = nil, retries: Int? = nil, trigger: String = "manual", heartbeatInterval: Double = 5, backoff: Double = 2,
                source: StageSource? = nil, executor: StageExecutor? = nil, force: [String] = []) {
        self.jobs = jobs
        self.retries = retries
        self.trigger = trigger
        self.heartbeatInterval = heartbeatInterval
        self.backoff = backoff
        self.source = source
        self.executor = executor
        self.force = force
    }
}

/// A workspace opened by the one scheduler allowed in it (`run`, or the `watch` daemon for its
/// whole life). Opening takes the `flock`, marks runs left `running` by dead processes as
/// `crashed` and removes their half-built temporary outputs; then any number of runs can follow,
/// one at a time.
public final class WorkspaceSession: @unchecked Sendable {
    public let workspace: Workspace
    public let recorder: RunRecorder
    public let executor: StageExecutor
    /// Runs found `running` at start-up whose process had died.
    public let crashedRuns: [Int64]
    private let lock: WorkspaceLock
    private let mutex = NSLock()
    private var active: Scheduler?
    private var cancellation = CancellationFlag()

    public init(workspace: Workspace, recorder: RunRecorder, executor: StageExecutor = LocalExecutor(), command: String = "run") throws {
        lock = try WorkspaceLock(workspace: workspace, command: command)
        self.workspace = workspace
        self.recorder = recorder
        self.executor = executor
        crashedRuns = try recorder.markCrashedRuns()
        StageRunner.removeStaleTemporaries(workspace)
        for id in crashedRuns {
            try? recorder.recordEvent(run: id, level: "warning", "marked crashed: its process died while it was running")
        }
    }

    public var lockHolder: WorkspaceLock.Holder { lock.holder }

    /// Gives the workspace up (also happens when the session is released or the process exits).
    public func close() { lock.release() }

    /// Stops the current run cleanly (signal handlers call this): running stages reach their next
    /// safe point, save their state and stop; stages not started are recorded `cancelled`.
    public func cancel() {
        mutex.lock()
        let flag = cancellation
        let scheduler = active
        mutex.unlock()
        flag.cancel()
        scheduler?.poke()
    }

    public var isCancelled: Bool { mutex.withLock { cancellation.isSet } }

    /// Runs `stages` as one recorded run of `pipeline`.
    public func run(stages: [any PipelineStage], pipeline: String, manifestHash: String, params: [String: String] = [:],
                    jobs: Int, retries: Int, options: RunOptions, observer: PipelineObserver?) throws -> RunSummary {
        let forced = try ForcedStages.select(options.force, among: stages.map(\.id), pipeline: pipeline)
        var params = params
        if !options.force.isEmpty { params["run.force"] = options.force.joined(separator: " ") }
        let runID = try recorder.createRun(pipeline: pipeline, manifestHash: manifestHash, trigger: options.trigger)
        let recorder = self.recorder
        try? recorder.recordParams(run: runID, params)
        let heartbeat = Heartbeat(interval: options.heartbeatInterval) { try? recorder.heartbeat(run: runID) }
        defer { heartbeat.stop() }
        let executor = options.executor ?? self.executor
        let scheduler: Scheduler
        let flag: CancellationFlag
        do {
            mutex.lock()
            flag = cancellation
            mutex.unlock()
            let schedulerOptions = SchedulerOptions(jobs: options.jobs ?? jobs, retries: options.retries ?? retries, backoff: options.backoff)
            scheduler = try Scheduler(
                stages: stages, runID: runID, pipeline: pipeline, workspace: workspace, recorder: recorder,
                executor: executor, observer: observer, options: schedulerOptions, forced: forced, cancellation: flag
            )
        } catch {
            try? recorder.finishRun(runID, status: .failed, error: "\(error)")
            throw error
        }
        let plan = ExecutionPlan(runID: runID, pipeline: pipeline, workspace: workspace, stages: stages,
                                 retries: options.retries ?? retries, source: options.source, forced: forced, cancellation: flag)
        do {
            try executor.begin(plan)
        } catch {
            try? recorder.finishRun(runID, status: .failed, error: "\(executor.name) executor: \(error)")
            throw error
        }
        mutex.withLock { active = scheduler }
        let summary = scheduler.run()
        mutex.withLock { active = nil }
        executor.end(plan)
        heartbeat.stop()
        do {
            try CheckpointIndex.publish(summary, workspace: workspace)
        } catch {
            observer?.handle(.notice("publishing checkpoints: \(error)"))
            try? recorder.recordEvent(run: runID, level: "error", "publishing checkpoints: \(error)")
        }
        try recorder.finishRun(runID, status: summary.status, error: summary.error)
        observer?.handle(.runFinished(summary))
        return summary
    }
}
