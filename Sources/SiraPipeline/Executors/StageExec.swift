import Foundation
import SiraIO

/// The inside of a Slurm job (`sira-pipeline stage-exec`): runs one attempt of one stage of a
/// submitted run, on any node that sees the workspace at the same path.
///
/// It rebuilds the run's stages from `data/slurm/<run>/run.json`, takes its inputs from the
/// results of the stages it depends on (their published cache folders), runs the stage exactly
/// as the local executor does (`StageRunner`: cache reuse, temp folder, atomic publish), and
/// reports through files only: metric points and progress while it runs, and as its last act
/// the attempt's result, written atomically. It never opens SQLite.
public enum StageExec {
    /// Exit status: the stage produced its output (or found it cached).
    public static let exitSucceeded: Int32 = 0
    /// The stage failed; its result says why.
    public static let exitFailed: Int32 = 1
    /// The job cannot even report (no run folder, unknown stage); see its output file.
    public static let exitBroken: Int32 = 2
    /// The stage stopped on SIGTERM (scancel, time limit) after saving its state.
    public static let exitCancelled: Int32 = 3

    /// Runs attempt `attempt` of stage `stage` (as written in `run.json`) of run `runID`.
    /// `cancellation` is set by the caller's SIGTERM/SIGINT handler. `say` gets messages for the
    /// job's output file. `planner` rebuilds a manifest run's stages (the product's planner).
    public static func run(workspace ws: Workspace, planner: StagePlanner, runID: Int64, stage: String, attempt: Int,
                           cancellation: CancellationFlag, say: (String) -> Void) -> Int32 {
        let started = Date()
        let folder = SlurmRunFolder(workspace: ws, runID: runID)
        let spec: SlurmRunSpec
        do {
            spec = try folder.loadSpec()
        } catch {
            say("stage-exec: \(error)")
            return exitBroken
        }
        guard let number = spec.number(of: stage) else {
            say("stage-exec: run \(runID) has no stage '\(stage)'")
            return exitBroken
        }

        func finish(_ status: StageExecResult.Status, key: String?, error: String?) -> Int32 {
            let result = StageExecResult(stage: stage, attempt: attempt, status: status, key: key, error: error,
                                         host: ProcessInfo.processInfo.hostName, job: jobID(), started: started, finished: Date())
            do {
                try folder.writeResult(result, stage: number)
            } catch {
                say("stage-exec: cannot write the result of \(stage): \(error)")
                return exitBroken
            }
            if let error { say("stage-exec: \(stage) attempt \(attempt) \(status.rawValue): \(error)") }
            switch status {
            case .succeeded, .cached: return exitSucceeded
            case .failed: return exitFailed
            case .cancelled: return exitCancelled
            }
        }

        guard spec.toolVersion == ToolVersion.string else {
            return finish(.failed, key: nil, error: "run \(runID) was submitted by sira-pipeline \(spec.toolVersion) but this job runs \(ToolVersion.string); every node must run the same binary")
        }
        let stages: [any PipelineStage]
        do {
            stages = try folder.stages(spec, planner: planner)
        } catch {
            return finish(.failed, key: nil, error: "cannot rebuild the stages of run \(runID): \(error)")
        }
        guard let target = stages.first(where: { $0.id.description == stage }),
              Set(target.dependencies.map(\.description)) == Set(spec.stages[number].dependencies)
        else {
            return finish(.failed, key: nil, error: "the rebuilt pipeline has no stage \(stage) with the submitted dependencies")
        }
        var inputs: [StageID: StageOutput] = [:]
        for dep in target.dependencies {
            guard let n = spec.number(of: dep.description), let r = folder.successfulResult(stage: n), let key = r.key,
                  let out = StageOutput.loadIfComplete(folder: ws.stageCacheFolder(dep.kind).appendingPathComponent(key), workspace: ws)
            else {
                return finish(.failed, key: nil, error: "input \(dep) has no complete output in run \(runID) (its job failed or the filesystem is not shared)")
            }
            inputs[dep] = out
        }

        let metrics = MetricAppender(url: folder.metricsURL(stage: number, attempt: attempt))
        let progress = ProgressWriter(url: folder.progressURL(stage: number, attempt: attempt))
        let a = StageAttempt(
            stage: target, attempt: attempt, runID: runID, workspace: ws, inputs: inputs,
            logURL: folder.logURL(stage: target.id, attempt: attempt), threads: threads(),
            force: spec.forced?.contains(stage) ?? false, cancellation: cancellation,
            events: { event in if case let .progress(p) = event { progress.write(p) } },
            metrics: { samples in metrics.append(samples) }
        )
        let outcome = StageRunner.perform(a)
        metrics.close()
        progress.flush()
        switch outcome {
        case let .succeeded(out): return finish(.succeeded, key: out.key, error: nil)
        case let .cached(out): return finish(.cached, key: out.key, error: nil)
        case let .failed(key, error): return finish(.failed, key: key, error: error)
        case let .cancelled(key): return finish(.cancelled, key: key, error: nil)
        }
    }

    /// The CPUs Slurm gave the job (`--cpus-per-task`), else the machine's.
    static func threads() -> Int {
        let env = ProcessInfo.processInfo.environment
        return env["SLURM_CPUS_PER_TASK"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
    }

    /// `123` or, for an array element, `123_4`.
    static func jobID() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let array = env["SLURM_ARRAY_JOB_ID"], let index = env["SLURM_ARRAY_TASK_ID"] { return "\(array)_\(index)" }
        return env["SLURM_JOB_ID"]
    }
}

/// Appends metric points to `metrics/<stage>.<attempt>.jsonl` as the stage reports them.
final class MetricAppender: @unchecked Sendable {
    private let url: URL
    private let lock = NSLock()
    private var handle: FileHandle?

    init(url: URL) { self.url = url }

    func append(_ samples: [MetricSample]) {
        let encoder = JSONEncoder.canonical
        var text = ""
        for s in samples {
            guard let data = try? encoder.encode(MetricLine(key: s.key, value: s.value, step: s.step, time: s.time)) else { continue }
            text += String(decoding: data, as: UTF8.self) + "\n"
        }
        lock.withLock {
            if handle == nil {
                try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
                handle = try? FileHandle(forWritingTo: url)
                _ = try? handle?.seekToEnd()
            }
            try? handle?.write(contentsOf: Data(text.utf8))
        }
    }

    /// fsyncs and closes: the submitter reads the file after the result appears.
    func close() {
        lock.withLock {
            try? handle?.synchronize()
            try? handle?.close()
            handle = nil
        }
    }
}

/// Keeps `progress/<stage>.<attempt>.json` at the newest report, rewritten at most every 2 s.
final class ProgressWriter: @unchecked Sendable {
    private let url: URL
    private let lock = NSLock()
    private var last = Date.distantPast
    private var pending: StageProgress?

    init(url: URL) { self.url = url }

    func write(_ p: StageProgress) {
        let due: Bool = lock.withLock {
            pending = p
            guard Date().timeIntervalSince(last) >= 2 else { return false }
            last = Date()
            return true
        }
        if due { flush() }
    }

    func flush() {
        guard let p = lock.withLock({ () -> StageProgress? in defer { pending = nil }; return pending }) else { return }
        let line = ProgressLine(step: p.step, total: p.total, loss: p.loss, tokensPerSecond: p.tokensPerSecond, note: p.note)
        if let data = try? JSONEncoder.canonical.encode(line) { try? AtomicFile.write(data, to: url) }
    }
}
