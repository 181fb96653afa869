import Foundation
import SiraIO

/// Settings of the Slurm executor: the manifest's `executor: {slurm: ...}` plus how jobs reach
/// the `sira-pipeline` binary and how often the queue is looked at.
public struct SlurmExecutorOptions: Sendable {
    public var spec: SlurmSpec
    /// The program (and leading arguments) a job runs as `... stage-exec ...`: the
    /// `sira-pipeline` binary, at a path every node sees.
    public var command: [String]
    /// Seconds between looks for result files.
    public var pollInterval: Double
    /// Seconds between `squeue` calls (jobs that left the queue, jobs that can never start).
    public var queueInterval: Double
    /// How long a job may be gone from the queue without its result file before its attempt
    /// counts as failed (covers a shared filesystem that shows the file late).
    public var lostJobGrace: Double
    /// More `sbatch` options, passed as they are (`--qos=...`).
    public var extraArguments: [String]

    public init(spec: SlurmSpec, command: [String] = [SlurmExecutorOptions.currentExecutable], pollInterval: Double = 1, queueInterval: Double = 2,
                lostJobGrace: Double = 20, extraArguments: [String] = []) {
        self.spec = spec
        self.command = command
        self.pollInterval = pollInterval
        self.queueInterval = queueInterval
        self.lostJobGrace = lostJobGrace
        self.extraArguments = extraArguments
    }
}

extension SlurmExecutorOptions {
    /// This process's own binary (`/proc/self/exe`): jobs run the same `sira-pipeline`, which
    /// must therefore live on the shared filesystem.
    public static var currentExecutable: String {
        let proc = URL(fileURLWithPath: "/proc/self/exe")
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: proc.path) { return target }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }
}

/// Runs stages as Slurm jobs (DESIGN.md §7). `begin` submits the whole run at once (except
/// stages whose output is already cached, which need no job): per-task
/// stages as job arrays (`%K` limits how many elements run together), dependencies as Slurm
/// dependencies (`SlurmJobPlanner`), every job running `sira-pipeline stage-exec` on the shared
/// filesystem. `launch` only attaches to the stage's job and reports its outcome from the
/// result file the job writes (`SlurmRunFolder`), with `squeue`/`scontrol` to notice jobs that
/// ended without one. Jobs never touch SQLite: the scheduler in this process records everything.
///
/// Failures: a failed job's dependants are cancelled (and Slurm kills them anyway:
/// `--kill-on-invalid-dep`); the scheduler's retry resubmits the stage and those of its
/// dependants whose other inputs are still coming. Cancelling the run (`SIGINT`/`SIGTERM` in
/// the submitter) `scancel`s every job of the run; running stages get SIGTERM, save their
/// state and report `cancelled`. A job stopped by Slurm itself (time limit, preemption) counts
/// as a failed attempt, so a retry resumes from the saved state.
public final class SlurmExecutor: StageExecutor, @unchecked Sendable {
    public let name = "slurm"
    public var schedulesConcurrency: Bool { true }
    public let options: SlurmExecutorOptions
    let slurm: SlurmControl

    private let cond = NSCondition()
    private var runs: [Int64: SlurmRunState] = [:]
    private var monitorRunning = false

    public convenience init(options: SlurmExecutorOptions) {
        self.init(options: options, slurm: SlurmCommands())
    }

    init(options: SlurmExecutorOptions, slurm: SlurmControl) {
        self.options = options
        self.slurm = slurm
    }

    // MARK: StageExecutor

    public func begin(_ plan: ExecutionPlan) throws {
        guard let source = plan.source else {
            throw StageFailure("this run's stages exist only in this process; a Slurm job cannot rebuild them (run a manifest)")
        }
        let state = SlurmRunState(plan: plan, source: try Self.specSource(source, workspace: plan.workspace))
        try state.folder.create(spec: state.spec)
        if case let .manifest(m) = source {
            try AtomicFile.write(try Self.manifestBytes(m, workspace: plan.workspace), to: state.folder.manifestURL)
        }
        cancelOrphans(of: state)
        findCached(state)
        try submit(state, batch: state.planner.stages.indices.filter { state.cached[$0] == nil })
        cond.lock()
        runs[plan.runID] = state
        startMonitorIfNeeded()
        cond.unlock()
    }

    public func launch(_ attempt: StageAttempt, completion: @escaping @Sendable (AttemptOutcome) -> Void) -> String? {
        cond.lock()
        defer { cond.unlock() }
        guard let state = runs[attempt.runID], let s = state.numbers[attempt.stage.id] else {
            fail(completion, "the Slurm executor was not given run \(attempt.runID) (begin was not called)")
            return nil
        }
        if let out = state.cached[s] {
            DispatchQueue.global().async { completion(.cached(out)) }
            return nil
        }
        if state.jobAttempt[s] != attempt.attempt || state.jobs[s] == nil {
            do {
                try resubmit(state, stage: s, attempt: attempt.attempt)
            } catch {
                fail(completion, "cannot submit \(attempt.stage.id) to Slurm: \(error)")
                return nil
            }
        }
        state.waiters[s] = SlurmRunState.Waiter(attempt: attempt, completion: completion)
        cond.signal()
        return state.jobs[s]?.text
    }

    public func end(_ plan: ExecutionPlan) {
        cond.lock()
        let state = runs.removeValue(forKey: plan.runID)
        cond.unlock()
        // Jobs still queued belong to stages that will never run (dependants of a failure).
        if let state { cancelAll(state) }
    }

    /// Completion is never called from inside `launch` (the scheduler holds its lock there).
    private func fail(_ completion: @escaping @Sendable (AttemptOutcome) -> Void, _ error: String) {
        DispatchQueue.global().async { completion(.failed(key: nil, error: error)) }
    }

    static func specSource(_ source: StageSource, workspace: Workspace) throws -> SlurmRunSpec.Source {
        switch source {
        case let .probe(p): return .probe(p)
        case let .manifest(m): return .manifest(file: m.file, sha256: m.sha256)
        }
    }

    /// The bytes of the manifest the run was planned from: `manifest.file` as given (relative to
    /// the current folder) or inside the workspace, whichever has the loaded manifest's hash.
    static func manifestBytes(_ m: Manifest, workspace: Workspace) throws -> Data {
        for url in [URL(fileURLWithPath: m.file), workspace.resolve(m.file)] {
            if let data = try? Data(contentsOf: url), ContentHash.sha256(String(decoding: data, as: UTF8.self)) == m.sha256 {
                return data
            }
        }
        throw StageFailure("\(m.file) changed since it was loaded (or cannot be read); run again to submit the current version")
    }

    /// Stages whose output is already in the cache, found as the local executor would (same key
    /// from the same inputs), dependencies first: they need no job, so a rerun of an unchanged
    /// pipeline submits nothing. Forced stages (`run --force`) always get a job.
    private func findCached(_ state: SlurmRunState) {
        let ws = state.plan.workspace
        for (i, stage) in state.plan.stages.enumerated() where !state.plan.forced.contains(stage.id) {
            var inputs: [StageID: StageOutput] = [:]
            for dep in stage.dependencies {
                guard let n = state.numbers[dep], let out = state.cached[n] else { break }
                inputs[dep] = out
            }
            guard inputs.count == Set(stage.dependencies).count,
                  let key = try? StageRunner.cacheKey(stage, inputs: inputs, workspace: ws),
                  let out = StageOutput.loadIfComplete(folder: ws.stageCacheFolder(stage.id.kind).appendingPathComponent(key), workspace: ws)
            else { continue }
            state.cached[i] = out
            state.produced.insert(i)
            // Jobs of the stages after it find their inputs through the run's result files.
            let now = Date()
            try? state.folder.writeResult(StageExecResult(stage: stage.id.description, attempt: 1, status: .cached, key: out.key, error: nil,
                                                          host: ProcessInfo.processInfo.hostName, job: nil, started: now, finished: now), stage: i)
        }
    }

    // MARK: submission (with `cond` held, or before the run is shared)

    /// Submits `batch` (stage numbers, dependencies first) as job groups in order.
    private func submit(_ state: SlurmRunState, batch: [Int]) throws {
        var live: [Int: SlurmJobPlanner.JobRef] = [:]
        let inBatch = Set(batch)
        let outside = Set(batch.flatMap { state.planner.stages[$0].dependencies }).subtracting(inBatch)
            .filter { !state.produced.contains($0) }
        if !outside.isEmpty {
            let queued = Set(((try? slurm.queue()) ?? []).map(\.id))
            for d in outside {
                guard let ref = state.jobs[d] else { continue }
                if queued.contains(ref.text) || (ref.index != nil && queued.contains(ref.job)) { live[d] = ref }
            }
        }
        let groups = state.planner.groups(batch: batch, live: live)
        var jobIDs: [Int: String] = [:]
        var submitted: [String] = []
        do {
            for (gi, g) in groups.enumerated() {
                let id = try submitGroup(state, g, jobIDs: jobIDs)
                jobIDs[gi] = id
                submitted.append(id)
                for s in g.members {
                    state.jobs[s] = SlurmJobPlanner.JobRef(job: id, index: g.isArray ? state.planner.arrayIndex(s) : nil)
                    state.jobAttempt[s] = state.jobAttempt[s] ?? 1
                }
            }
        } catch {
            try? slurm.cancel(submitted)
            for s in batch where submitted.contains(state.jobs[s]?.job ?? "") { state.jobs[s] = nil }
            throw error
        }
    }

    private func submitGroup(_ state: SlurmRunState, _ g: SlurmJobPlanner.Group, jobIDs: [Int: String]) throws -> String {
        let folder = state.folder
        let elements = g.members.map { s -> SlurmJobScript.Element in
            let attempt = state.jobAttempt[s] ?? 1
            return SlurmJobScript.Element(
                arrayIndex: g.isArray ? state.planner.arrayIndex(s) : nil, stage: state.planner.stages[s].id.description,
                attempt: attempt, output: folder.outputURL(stage: s, attempt: attempt).path
            )
        }
        let script = SlurmJobScript(command: options.command, workspace: state.plan.workspace.root.path, runID: state.plan.runID,
                                    title: g.label + (g.isArray ? " (\(g.members.count) tasks)" : ""), elements: elements)
        state.scripts += 1
        let url = folder.scriptsFolder.appendingPathComponent("\(state.scripts)-\(Self.safeName(g.label)).sh")
        try AtomicFile.write(try script.render(), to: url)

        var args = Self.resourceArguments(options.spec) + options.extraArguments
        args.append("--job-name=" + Self.safeName("sira-\(state.plan.runID)-\(g.label)"))
        args.append("--comment=" + state.comment)
        args.append("--kill-on-invalid-dep=yes")
        args.append("--chdir=" + state.plan.workspace.root.path)
        // Slurm expands %-patterns in --output; paths that could contain one are not given to it.
        let slurmOut = folder.url.appendingPathComponent(g.isArray ? "out/slurm-%A_%a.out" : "out/slurm-%j.out").path
        let plainFolder = !folder.url.path.contains("%") && !folder.url.path.contains("\\")
        args.append("--output=" + (plainFolder ? slurmOut : "/dev/null"))
        args.append("--open-mode=append")
        if g.isArray {
            let indices = g.members.compactMap(state.planner.arrayIndex)
            args.append("--array=" + SlurmJobPlanner.arrayOption(indices, limit: options.spec.arrayLimit))
        }
        if let dep = SlurmJobPlanner.dependencyOption(g.dependencies, jobIDs: jobIDs) {
            args.append("--dependency=" + dep)
        }
        return try slurm.submit(script: url, options: args)
    }

    /// sbatch options from the manifest's `executor: {slurm: ...}`; values are single arguments
    /// (no shell), and Slurm rejects ones it does not understand.
    static func resourceArguments(_ spec: SlurmSpec) -> [String] {
        var args = ["--cpus-per-task=\(spec.cpus)", "--nodes=1", "--ntasks=1"]
        if let p = spec.partition { args.append("--partition=" + p) }
        if let a = spec.account { args.append("--account=" + a) }
        if let t = spec.time { args.append("--time=" + t) }
        if let m = spec.memory { args.append("--mem=" + m) }
        return args
    }

    /// Letters, digits and `._:@-`; anything else becomes `_` (job names and script names).
    static func safeName(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(80).map { c in
            (c.isASCII && (CharacterSet.alphanumerics.contains(c) || "._:@-".unicodeScalars.contains(c))) ? c : "_"
        }))
    }

    /// A retry (or a stage whose job was cancelled): resubmits `stage` as `attempt`, with the
    /// dependants whose other inputs are done or still coming; the rest wait for their own
    /// failed inputs' retries.
    private func resubmit(_ state: SlurmRunState, stage s: Int, attempt: Int) throws {
        state.jobAttempt[s] = attempt
        state.failed.remove(s)
        cancelDependants(state, of: s)
        var batch = [s]
        var inBatch: Set<Int> = [s]
        for x in state.planner.dependants(of: s) where !state.produced.contains(x) && state.waiters[x] == nil {
            let ready = state.planner.stages[x].dependencies.allSatisfy { d in
                inBatch.contains(d) || state.produced.contains(d) || (state.jobs[d] != nil && !state.failed.contains(d))
            }
            if ready {
                batch.append(x)
                inBatch.insert(x)
            }
        }
        if let old = state.jobs[s] { try? slurm.cancel([old.text]) }
        state.jobs[s] = nil
        try submit(state, batch: batch)
    }

    /// Cancels the jobs of every stage downstream of `s` (they wait on a job that failed or
    /// was replaced) and forgets them; a retry of `s` submits them again.
    private func cancelDependants(_ state: SlurmRunState, of s: Int) {
        var stale: [String] = []
        for x in state.planner.dependants(of: s) where !state.produced.contains(x) && state.waiters[x] == nil {
            if let ref = state.jobs[x] { stale.append(ref.text) }
            state.jobs[x] = nil
        }
        if !stale.isEmpty { try? slurm.cancel(stale) }
    }

    /// Every job of the run still in the queue (found by the run's comment, so a job id that
    /// Slurm has since reused for someone else's job is never touched).
    private func cancelAll(_ state: SlurmRunState) {
        guard let queue = try? slurm.queue() else { return }
        let ids = Set(queue.filter { $0.comment == state.comment }.map { String($0.id.split(separator: "_")[0]) })
        if !ids.isEmpty { try? slurm.cancel(ids.sorted()) }
    }

    /// Jobs of this workspace from earlier runs: with the workspace lock held no other scheduler
    /// owns them, so they belong to a submitter that died (its run is marked crashed).
    private func cancelOrphans(of state: SlurmRunState) {
        guard let queue = try? slurm.queue() else { return }
        let ids = Set(queue.filter { $0.comment.hasPrefix(state.workspaceTag) && $0.comment != state.comment }
            .map { String($0.id.split(separator: "_")[0]) })
        if !ids.isEmpty { try? slurm.cancel(ids.sorted()) }
    }

    // MARK: monitoring

    private func startMonitorIfNeeded() {
        guard !monitorRunning else { return }
        monitorRunning = true
        let thread = Thread { [self] in monitorLoop() }
        thread.name = "sira-pipeline.slurm-monitor"
        thread.start()
    }

    private func monitorLoop() {
        while true {
            cond.lock()
            if runs.isEmpty {
                monitorRunning = false
                cond.unlock()
                return
            }
            _ = cond.wait(until: Date().addingTimeInterval(options.pollInterval))
            var done: [(@Sendable (AttemptOutcome) -> Void, AttemptOutcome)] = []
            for state in runs.values { poll(state, into: &done) }
            cond.unlock()
            for (completion, outcome) in done { completion(outcome) }
        }
    }

    /// One look at a run (with `cond` held): result files first, then the queue now and then.
    private func poll(_ state: SlurmRunState, into done: inout [(@Sendable (AttemptOutcome) -> Void, AttemptOutcome)]) {
        let now = Date()
        if state.plan.isCancelled, !state.cancelSent {
            state.cancelSent = true
            cancelAll(state)
        }
        for s in state.waiters.keys.sorted() {
            guard let w = state.waiters[s] else { continue }
            forwardProgress(state, stage: s, w)
            guard let result = state.folder.result(stage: s, attempt: w.attempt.attempt) else { continue }
            if let outcome = outcome(state, stage: s, w, result, now: now) {
                state.waiters[s] = nil
                done.append((w.completion, outcome))
            }
        }
        guard !state.waiters.isEmpty,
              state.cancelSent || now.timeIntervalSince(state.lastQueue) >= options.queueInterval else { return }
        state.lastQueue = now
        guard let queue = try? slurm.queue() else { return }
        let byID = Dictionary(queue.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for s in state.waiters.keys.sorted() {
            guard var w = state.waiters[s], let ref = state.jobs[s] else { continue }
            if let q = byID[ref.text] ?? (ref.index == nil ? nil : byID[ref.job]) {
                w.goneSince = nil
                if q.state == "PENDING", q.reason == "DependencyNeverSatisfied" {
                    state.waiters[s] = nil
                    state.failed.insert(s)
                    cancelDependants(state, of: s)
                    done.append((w.completion, .failed(key: nil, error: "Slurm job \(ref.text) can never start: one of its dependencies failed in Slurm")))
                    continue
                }
                if q.state != w.lastState {
                    w.lastState = q.state
                    let why = q.state == "PENDING" && q.reason != "None" ? " (\(q.reason))" : ""
                    w.attempt.events(.notice("\(w.attempt.stage.id): Slurm job \(ref.text) \(q.state.lowercased())\(why)"))
                }
                state.waiters[s] = w
                continue
            }
            // Gone from the queue: its result file should be there; give the filesystem time.
            if w.goneSince == nil {
                w.goneSince = now
                w.details = try? slurm.details(ref.text)
                state.waiters[s] = w
                continue
            }
            let grace = state.plan.isCancelled ? min(3, options.lostJobGrace) : options.lostJobGrace
            guard now.timeIntervalSince(w.goneSince!) >= grace else { continue }
            state.waiters[s] = nil
            state.failed.insert(s)
            if state.plan.isCancelled {
                done.append((w.completion, .cancelled(key: nil)))
                continue
            }
            cancelDependants(state, of: s)
            let how = w.details.map { "ended \($0.state) (exit \($0.exitCode)\($0.reason == "None" || $0.reason.isEmpty ? "" : ", \($0.reason)"))" }
                ?? "left the queue"
            let out = state.plan.workspace.relative(state.folder.outputURL(stage: s, attempt: w.attempt.attempt))
            done.append((w.completion, .failed(key: nil, error: "Slurm job \(ref.text) \(how) without writing its result; see \(out)")))
        }
    }

    /// The outcome a result file reports, once the output it names is visible here; nil to look
    /// again later (a shared filesystem may show the output folder after the result file).
    private func outcome(_ state: SlurmRunState, stage s: Int, _ w: SlurmRunState.Waiter, _ r: StageExecResult, now: Date) -> AttemptOutcome? {
        let ws = state.plan.workspace
        let id = w.attempt.stage.id
        if r.status.producedOutput {
            let folder = ws.stageCacheFolder(id.kind).appendingPathComponent(r.key ?? "")
            if r.key != nil, let out = StageOutput.loadIfComplete(folder: folder, workspace: ws) {
                recordMetrics(state, stage: s, w)
                state.produced.insert(s)
                return r.status == .cached ? .cached(out) : .succeeded(out)
            }
            var waiting = w
            waiting.outputMissingSince = w.outputMissingSince ?? now
            state.waiters[s] = waiting
            guard now.timeIntervalSince(waiting.outputMissingSince!) >= options.lostJobGrace else { return nil }
            state.failed.insert(s)
            cancelDependants(state, of: s)
            return .failed(key: r.key, error: "job reported \(id) done, but \(ws.relative(folder)) is not complete on this host (is data/ on a shared filesystem?)")
        }
        recordMetrics(state, stage: s, w)
        state.failed.insert(s)
        cancelDependants(state, of: s)
        switch r.status {
        case .cancelled where state.plan.isCancelled:
            return .cancelled(key: r.key)
        case .cancelled:
            return .failed(key: r.key, error: "stopped by Slurm before it finished (time limit, preemption or an outside scancel) on \(r.host); resumable state is kept")
        default:
            return .failed(key: r.key, error: r.error ?? "failed on \(r.host)")
        }
    }

    private func recordMetrics(_ state: SlurmRunState, stage s: Int, _ w: SlurmRunState.Waiter) {
        let samples = state.folder.metrics(stage: s, attempt: w.attempt.attempt)
        if !samples.isEmpty { w.attempt.metrics(samples) }
    }

    /// Passes on the newest progress a running job reported (step, loss, tokens/s).
    private func forwardProgress(_ state: SlurmRunState, stage s: Int, _ w: SlurmRunState.Waiter) {
        let url = state.folder.progressURL(stage: s, attempt: w.attempt.attempt)
        guard let data = try? Data(contentsOf: url), data != w.lastProgress,
              let p = try? JSONDecoder.pipeline.decode(ProgressLine.self, from: data) else { return }
        var updated = w
        updated.lastProgress = data
        state.waiters[s] = updated
        w.attempt.events(.progress(StageProgress(stage: w.attempt.stage.id, step: p.step, total: p.total, loss: p.loss,
                                                 tokensPerSecond: p.tokensPerSecond, note: p.note)))
    }
}

/// What the executor knows about one submitted run (guarded by the executor's lock).
final class SlurmRunState: @unchecked Sendable {
    struct Waiter {
        let attempt: StageAttempt
        let completion: @Sendable (AttemptOutcome) -> Void
        var goneSince: Date?
        var details: JobDetails?
        var lastState: String?
        var outputMissingSince: Date?
        var lastProgress: Data?
    }

    let plan: ExecutionPlan
    let folder: SlurmRunFolder
    let planner: SlurmJobPlanner
    let spec: SlurmRunSpec
    let numbers: [StageID: Int]
    /// `sira-pipeline ws=<hash of the workspace path> `: every job of this workspace.
    let workspaceTag: String
    /// The Slurm comment on every job of this run: finds them in `squeue`.
    let comment: String
    /// The job (or array element) currently standing for each stage.
    var jobs: [Int: SlurmJobPlanner.JobRef] = [:]
    /// The attempt number the stage's current job runs.
    var jobAttempt: [Int: Int] = [:]
    var waiters: [Int: Waiter] = [:]
    var produced: Set<Int> = []
    /// Outputs found in the cache before submitting: these stages get no job.
    var cached: [Int: StageOutput] = [:]
    /// Stages whose latest job failed (a retry may follow).
    var failed: Set<Int> = []
    var scripts = 0
    var cancelSent = false
    var lastQueue = Date.distantPast

    static func workspaceTag(_ ws: Workspace) -> String {
        "sira-pipeline ws=\(ContentHash.sha256(ws.root.path).prefix(16)) "
    }

    static func comment(_ ws: Workspace, runID: Int64) -> String { workspaceTag(ws) + "run=\(runID)" }

    init(plan: ExecutionPlan, source: SlurmRunSpec.Source) {
        self.plan = plan
        folder = SlurmRunFolder(workspace: plan.workspace, runID: plan.runID)
        let numbers = Dictionary(uniqueKeysWithValues: plan.stages.enumerated().map { ($0.element.id, $0.offset) })
        self.numbers = numbers
        planner = SlurmJobPlanner(stages: plan.stages.map { s in
            SlurmJobPlanner.Stage(id: s.id, dependencies: s.dependencies.compactMap { numbers[$0] })
        })
        spec = SlurmRunSpec(runID: plan.runID, pipeline: plan.pipeline, toolVersion: ToolVersion.string, source: source,
                            stages: plan.stages.map { .init(id: $0.id.description, dependencies: $0.dependencies.map(\.description)) },
                            forced: plan.forced.isEmpty ? nil : plan.forced.map(\.description).sorted())
        workspaceTag = Self.workspaceTag(plan.workspace)
        comment = Self.comment(plan.workspace, runID: plan.runID)
    }
}
