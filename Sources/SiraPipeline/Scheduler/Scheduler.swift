import Foundation
import SiraStore

public struct SchedulerOptions: Sendable {
    /// Stages running at once.
    public var jobs: Int
    /// Extra attempts after a failure.
    public var retries: Int
    /// Wait before the first retry; doubles per attempt, capped at `maxBackoff`.
    public var backoff: Double
    public var maxBackoff: Double

    public init(jobs: Int = 1, retries: Int = 1, backoff: Double = 2, maxBackoff: Double = 300) {
        self.jobs = max(1, jobs)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// Delay before attempt `next` (2, 3, ...): `backoff * 2^(next-2)`.
    public func delay(beforeAttempt next: Int) -> Double {
        min(maxBackoff, backoff * pow(2, Double(max(0, next - 2))))
    }
}

/// Runs a stage graph: dispatches every stage whose dependencies produced outputs to the executor,
/// up to `jobs` at once, retries failures with exponential backoff, and marks the dependants of
/// a stage that finally failed as `skipped` while independent branches carry on. Cancellation
/// lets running stages stop at their next safe point and records the rest as `cancelled`.
///
/// Every transition is recorded through the `RunRecorder` and reported to the observer.
final class Scheduler: @unchecked Sendable {
    private enum State {
        case waiting
        case ready(notBefore: Date)
        case running(stageRun: Int64?, started: Date)
        case done(StageStatus)
    }

    private struct Entry {
        var stage: any PipelineStage
        var state: State = .waiting
        var attempts = 0
        var seconds = 0.0
        var key: String?
        var error: String?
        var output: StageOutput?
    }

    private let cond = NSCondition()
    private var entries: [StageID: Entry] = [:]
    private let order: [StageID]
    private let runID: Int64
    private let pipeline: String
    private let workspace: Workspace
    private let recorder: RunRecorder
    private let executor: StageExecutor
    private let observer: PipelineObserver?
    private let options: SchedulerOptions
    private let forced: Set<StageID>
    private let cancellation: CancellationFlag
    private var running = 0
    private var cancelHandled = false

    init(stages: [any PipelineStage], runID: Int64, pipeline: String, workspace: Workspace, recorder: RunRecorder,
         executor: StageExecutor, observer: PipelineObserver?, options: SchedulerOptions, forced: Set<StageID> = [],
         cancellation: CancellationFlag) throws {
        let graph = try StageGraph(nodes: stages.map { StageGraph.Node(id: $0.id, dependencies: $0.dependencies) })
        order = graph.stages.map(\.id)
        for s in stages { entries[s.id] = Entry(stage: s) }
        self.runID = runID
        self.pipeline = pipeline
        self.workspace = workspace
        self.recorder = recorder
        self.executor = executor
        self.observer = observer
        self.options = options
        self.forced = forced
        self.cancellation = cancellation
    }

    func run() -> RunSummary {
        let started = Date()
        observer?.handle(.runStarted(runID: runID, pipeline: pipeline, stages: order))
        cond.lock()
        while true {
            if cancellation.isSet, !cancelHandled { cancelPending() }
            promote()
            launchReady()
            let pending = order.contains { id in
                switch entries[id]!.state {
                case .waiting, .ready: return true
                default: return false
                }
            }
            if running == 0, !pending { break }
            if let wake = nextWake() { _ = cond.wait(until: wake) } else { cond.wait() }
        }
        cond.unlock()
        return summary(seconds: Date().timeIntervalSince(started))
    }

    /// Wakes the loop (cancellation comes from a signal handler thread).
    func poke() {
        cond.lock()
        cond.signal()
        cond.unlock()
    }

    // MARK: transitions (all with `cond` held)

    /// waiting → ready when every dependency produced output; → skipped when one never will.
    private func promote() {
        for id in order {
            guard case .waiting = entries[id]!.state else { continue }
            var allReady = true
            var blocker: (StageID, StageStatus)?
            for dep in entries[id]!.stage.dependencies {
                guard case let .done(status) = entries[dep]!.state else {
                    allReady = false
                    continue
                }
                if !status.producedOutput { blocker = (dep, status) }
            }
            if let (dep, status) = blocker {
                let why = "\(dep) \(status == .skipped ? "was skipped" : status.rawValue)"
                finishWithoutRunning(id, status: status == .cancelled ? .cancelled : .skipped, error: why)
            } else if allReady {
                entries[id]!.state = .ready(notBefore: .distantPast)
            }
        }
    }

    private func launchReady() {
        let now = Date()
        for id in order where (running < options.jobs || executor.schedulesConcurrency) && !cancellation.isSet {
            guard case let .ready(notBefore) = entries[id]!.state, notBefore <= now else { continue }
            launch(id)
        }
    }

    private func launch(_ id: StageID) {
        var e = entries[id]!
        e.attempts += 1
        let logURL = workspace.logsFolder
            .appendingPathComponent(String(runID))
            .appendingPathComponent("\(id).\(e.attempts).log")
        let record = StageRecord(stage: id, attempt: e.attempts, executor: executor.name, logPath: workspace.relative(logURL))
        let recorder = self.recorder
        let runID = self.runID
        let stageRun = attemptRecord { try recorder.startStage(run: runID, record) }
        e.state = .running(stageRun: stageRun, started: Date())
        entries[id] = e
        running += 1
        var inputs: [StageID: StageOutput] = [:]
        for dep in e.stage.dependencies { inputs[dep] = entries[dep]!.output }
        observer?.handle(.stageStarted(id, attempt: e.attempts))
        let attempt = StageAttempt(
            stage: e.stage, attempt: e.attempts, runID: runID, workspace: workspace, inputs: inputs, logURL: logURL,
            threads: max(1, ProcessInfo.processInfo.activeProcessorCount / options.jobs), force: forced.contains(id),
            cancellation: cancellation,
            events: { [weak observer] event in observer?.handle(event) },
            metrics: { samples in try? recorder.recordMetrics(run: runID, stageRun: stageRun, stage: id, samples) }
        )
        let external = executor.launch(attempt) { [self] outcome in
            complete(id, outcome)
        }
        // Completion waits for `cond`, which is held here: the attempt is still live.
        if let external, let stageRun { attemptRecord { try recorder.recordExternalID(stageRun, external) } }
    }

    private func complete(_ id: StageID, _ outcome: AttemptOutcome) {
        cond.lock()
        defer {
            cond.signal()
            cond.unlock()
        }
        running -= 1
        var e = entries[id]!
        guard case let .running(stageRun, started) = e.state else { return }
        let seconds = Date().timeIntervalSince(started)
        e.seconds += seconds
        e.key = outcome.key ?? e.key
        let status: StageStatus
        switch outcome {
        case let .cached(out), let .succeeded(out):
            status = { if case .cached = outcome { return .cached } else { return .succeeded } }()
            e.output = out
            e.error = nil
            e.state = .done(status)
            entries[id] = e
            finishRecord(stageRun, status: status, key: e.key, error: nil)
            recordOutputs(id, stageRun: stageRun, out, newlyBuilt: status == .succeeded)
        case let .failed(_, error):
            e.error = error
            if e.attempts <= options.retries, !cancellation.isSet {
                let delay = options.delay(beforeAttempt: e.attempts + 1)
                e.state = .ready(notBefore: Date().addingTimeInterval(delay))
                entries[id] = e
                finishRecord(stageRun, status: .failed, key: e.key, error: error)
                observer?.handle(.stageRetrying(id, attempt: e.attempts + 1, delay: delay, error: error))
                return
            }
            status = .failed
            e.state = .done(.failed)
            entries[id] = e
            finishRecord(stageRun, status: .failed, key: e.key, error: error)
        case .cancelled:
            status = .cancelled
            e.error = "cancelled"
            e.state = .done(.cancelled)
            entries[id] = e
            finishRecord(stageRun, status: .cancelled, key: e.key, error: nil)
        }
        observer?.handle(.stageFinished(id, status: status, attempt: e.attempts, seconds: seconds, error: e.error))
    }

    private func cancelPending() {
        cancelHandled = true
        observer?.handle(.notice("stopping: running stages save their state and stop; nothing new starts; the run will be resumable (signal again to quit at once)"))
        for id in order {
            switch entries[id]!.state {
            case .waiting, .ready: finishWithoutRunning(id, status: .cancelled, error: "run cancelled")
            default: break
            }
        }
    }

    private func finishWithoutRunning(_ id: StageID, status: StageStatus, error: String) {
        var e = entries[id]!
        e.state = .done(status)
        e.error = e.error ?? error
        entries[id] = e
        let record = StageRecord(stage: id, attempt: max(1, e.attempts), executor: executor.name)
        attemptRecord { try recorder.recordStage(run: runID, record, status: status, error: error) }
        observer?.handle(.stageFinished(id, status: status, attempt: e.attempts, seconds: 0, error: error))
    }

    private func nextWake() -> Date? {
        var wake: Date?
        for id in order {
            if case let .ready(notBefore) = entries[id]!.state, notBefore > Date() {
                wake = min(wake ?? notBefore, notBefore)
            }
        }
        return wake
    }

    // MARK: recording

    private func finishRecord(_ stageRun: Int64?, status: StageStatus, key: String?, error: String?) {
        guard let stageRun else { return }
        attemptRecord { try recorder.finishStage(stageRun, status: status, cacheKey: key, error: error) }
    }

    private func recordOutputs(_ id: StageID, stageRun: Int64?, _ out: StageOutput, newlyBuilt: Bool) {
        let samples = out.metrics.keys.sorted().map { MetricSample(key: $0, value: out.metrics[$0]!, step: nil, time: Date()) }
        if !samples.isEmpty {
            attemptRecord { try recorder.recordMetrics(run: runID, stageRun: stageRun, stage: id, samples) }
        }
        let artifacts = out.files.map {
            ArtifactInfo(path: workspace.relative(out.url($0.path)), sha256: $0.sha256, bytes: $0.bytes, kind: id.kind.rawValue)
        }
        if !artifacts.isEmpty {
            attemptRecord { try recorder.recordArtifacts(run: runID, stageRun: stageRun, artifacts) }
        }
        if let task = id.task, let sha = out.info["dataset.sha256"], let path = out.info["dataset.path"] {
            let records = Int(out.info["dataset.records"] ?? "") ?? 0
            attemptRecord { try recorder.recordDataset(task: task, sha256: sha, path: path, records: records) }
        }
    }

    /// Recording must not stop a run: a failed write is reported as a notice and the run goes on
    /// (the outputs on disk stay the truth for the cache).
    @discardableResult
    private func attemptRecord<T>(_ body: () throws -> T) -> T? {
        do { return try body() } catch {
            observer?.handle(.notice("run tracking: \(error)"))
            return nil
        }
    }

    private func summary(seconds: Double) -> RunSummary {
        let stages = order.map { id -> RunSummary.Stage in
            let e = entries[id]!
            var status = StageStatus.queued
            if case let .done(s) = e.state { status = s }
            return RunSummary.Stage(id: id, status: status, attempts: e.attempts, seconds: e.seconds, key: e.key,
                                    error: e.error, metrics: e.output?.metrics ?? [:], output: e.output)
        }
        let runStatus: RunStatus
        if stages.contains(where: { $0.status == .failed }) {
            runStatus = .failed
        } else if stages.contains(where: { $0.status == .cancelled }) {
            runStatus = .cancelled
        } else {
            runStatus = .succeeded
        }
        let firstError = stages.first { $0.status == .failed }.map { "\($0.id): \($0.error ?? "failed")" }
        return RunSummary(runID: runID, pipeline: pipeline, status: runStatus, stages: stages, seconds: seconds, error: firstError)
    }
}
