#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import SiraData
import SiraStore

/// Moves a file no pipeline takes out of the inbox, keeping it with its reason; returns where
/// it went.
public typealias QuarantineAction = @Sendable (_ file: URL, _ reason: String) throws -> URL

/// The data module's quarantine: the file moves to `data/quarantine/` with `<name>.reason`.
public func dataQuarantine(_ workspace: Workspace) -> QuarantineAction {
    let ingestor = Ingestor(root: workspace.root)
    return { file, reason in try ingestor.quarantine(file: file, reason: reason).destination }
}

/// Moves a file whose content every pipeline taking it has already processed out of the inbox,
/// so no later run ingests it again; returns where it went.
public typealias ArchiveAction = @Sendable (_ file: URL, _ sha256: String) throws -> URL

/// The data module's archive: `data/archive/<sha256>.<ext>`, where ingest keeps every input.
public func dataArchive(_ workspace: Workspace) -> ArchiveAction {
    let ingestor = Ingestor(root: workspace.root)
    return { file, sha256 in try ingestor.archiveProcessed(file: file, sha256: sha256) }
}

public struct WatchOptions: Sendable {
    /// Scan the inbox this often instead of using inotify (network filesystems). Nil: inotify.
    public var pollInterval: TimeInterval?
    /// Stages run at once within a run (overrides the manifest's `jobs`); runs never overlap.
    public var jobs: Int?
    /// A finished file must stay unchanged this long before it is taken.
    public var stabilityWindow: TimeInterval
    /// The same, for files whose writer cannot be asked about (no lease support).
    public var unprovenWindow: TimeInterval
    /// How late a schedule tick may be and still count as on time.
    public var grace: TimeInterval
    /// Run and daemon heartbeat period, seconds.
    public var heartbeatInterval: Double
    /// First retry delay of failed stages, seconds.
    public var backoff: Double

    public init(pollInterval: TimeInterval? = nil, jobs: Int? = nil, stabilityWindow: TimeInterval = 0.2,
                unprovenWindow: TimeInterval = 2, grace: TimeInterval = 120, heartbeatInterval: Double = 5, backoff: Double = 2) {
        self.pollInterval = pollInterval
        self.jobs = jobs
        self.stabilityWindow = stabilityWindow
        self.unprovenWindow = unprovenWindow
        self.grace = grace
        self.heartbeatInterval = heartbeatInterval
        self.backoff = backoff
    }
}

/// Callbacks for tests, benchmarks and embedding; called from the daemon's threads.
public struct WatchHooks: Sendable {
    public var fileComplete: (@Sendable (CompleteFile, [InboxRouter.Route]) -> Void)?
    public var runStarted: (@Sendable (RunRequest, Int64) -> Void)?
    public var runFinished: (@Sendable (RunRequest, RunSummary) -> Void)?
    /// A request that did not become a run, and why.
    public var runSkipped: (@Sendable (RunRequest, String) -> Void)?
    public var quarantined: (@Sendable (String, String) -> Void)?
    /// A file whose content was already processed left the inbox: (file, where it went).
    public var archived: (@Sendable (String, String) -> Void)?

    public init() {}
}

/// `sira-pipeline watch`: the long-running process that turns files dropped into `data/inbox/` and
/// schedule ticks into runs (DESIGN.md §1, §7).
///
/// - One per workspace: start-up takes the workspace lock (`WorkspaceSession`), which also marks
///   runs left live by a dead process (`kill -9`, power loss) as `crashed`; the latest run of each
///   pipeline that crashed or was stopped is then resumed (stages pick up their saved state).
/// - Files: the inbox watcher plus the complete-file detector report finished files (start-up
///   rescan included); each is hashed and goes to the pipelines whose task globs match. Idempotence
///   is by content: a pipeline without a schedule runs when the inbox holds content (SHA-256) it has
///   not run on yet, so the same bytes under another name start nothing and a changed file starts a
///   run (its ingest makes a new dataset version). The hashes each run covered are recorded with
///   the run (`watch.inputs`), so this survives restarts. A pipeline with a schedule takes its files
///   at its next tick. A file no pipeline takes is quarantined with the reason (held in place
///   instead while a manifest fails to load, since that manifest might want it).
/// - Schedules: ticks come from `ScheduleClock` (SQLite-backed, catch-up policy); each runs once,
///   the tick claimed in the same transaction as its run.
/// - Runs go through one queue, one at a time, so two runs never overlap on a task.
/// - `stop()` (SIGTERM/SIGINT): stop taking work, let the running stage reach its next saved
///   state, record the run as `cancelled`, release the workspace. `reload()` (SIGHUP): re-read
///   manifests, keeping the old version of any that no longer loads.
public final class WatchDaemon: @unchecked Sendable {
    public let workspace: Workspace
    public let options: WatchOptions
    public let inbox: URL
    public let logger: Logger
    private let planner: StagePlanner
    private let quarantine: QuarantineAction?
    private let archive: ArchiveAction?
    private let hooks: WatchHooks

    /// Manifests, routing and schedules live on `control`; the watcher and detector on `inbox`.
    private let control = DispatchQueue(label: "sira.watch.control")
    private let inboxQueue = DispatchQueue(label: "sira.watch.inbox")
    private let manifests: ManifestSet
    private let queue = RunQueue()
    private let hashes = ContentHashCache()
    /// Hashing big files must not hold up routing or schedules.
    private let hashQueue = DispatchQueue(label: "sira.watch.hash")
    private var store: RunStore!
    private var recorder: TickClaimingRecorder!
    private var session: WorkspaceSession!
    private var clock: ScheduleClock!
    private var watcher: InboxWatcher?
    private var detector: CompleteFileDetector?
    private var scheduleTimer: DispatchSourceTimer?
    private var nextTick: Date?
    private var heartbeat: Heartbeat?
    private var heldFiles: [String] = []
    private var scheduleProblems: [String: String] = [:]

    private let state = NSLock()
    private var stopping = false
    /// Per pipeline, content hashes its finished runs covered (loaded from the store on first use)
    /// and hashes waiting in a queued request.
    private var processed: [String: Set<String>] = [:]
    private var pending: [String: Set<String>] = [:]
    private var current: (pipeline: String, run: Int64?)?
    private var startedAt = Date()
    /// Copies kept for the status file, which is written from any thread.
    private var statusPipelines: [String] = []
    private var statusNextTick: Date?
    private let workerDone = DispatchSemaphore(value: 0)
    private var workerStarted = false
    private var stopped = false

    public init(workspace: Workspace, options: WatchOptions = WatchOptions(), logger: Logger = Logger(label: "sira.watch"),
                planner: @escaping StagePlanner, quarantine: QuarantineAction?, archive: ArchiveAction? = nil,
                hooks: WatchHooks = WatchHooks()) {
        self.workspace = workspace
        self.options = options
        self.inbox = workspace.dataFolder.appendingPathComponent("inbox")
        self.logger = logger
        self.planner = planner
        self.quarantine = quarantine
        self.archive = archive
        self.hooks = hooks
        self.manifests = ManifestSet(workspace: workspace)
    }

    // MARK: lifecycle

    /// Takes the workspace (or throws `WorkspaceBusy`), loads manifests, queues resumes and
    /// catch-up ticks, starts the run worker and the inbox watch (with its full rescan).
    public func start() throws {
        do {
            try startUp()
        } catch {
            // Whatever started is taken down again, the workspace released.
            stop()
            throw error
        }
    }

    private func startUp() throws {
        startedAt = Date()
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        store = try RunStore(path: workspace.databaseURL.path)
        recorder = TickClaimingRecorder(base: StoreRecorder(store: store))
        session = try WorkspaceSession(workspace: workspace, recorder: recorder, executor: LocalExecutor(), command: "watch")
        clock = ScheduleClock(store: store, grace: options.grace)
        for id in session.crashedRuns {
            logger.warning("run marked crashed: its process died while it was running", metadata: ["run": "\(id)"])
        }
        control.sync {
            let report = manifests.reload()
            logReload(report, initial: true)
            let names = manifests.all.map(\.name)
            state.withLock { statusPipelines = names }
            if names.isEmpty && manifests.failingFiles.isEmpty {
                logger.warning("no pipeline manifests: files arriving in the inbox have no task to go to and are quarantined; add pipelines/NAME.yaml and send SIGHUP",
                               metadata: ["folder": "\(workspace.relative(manifests.folder))"])
            }
            queueStartupWork()
        }

        let worker = Thread { [self] in
            while let request = queue.next() { execute(request) }
            workerDone.signal()
        }
        worker.name = "sira.watch.runs"
        worker.stackSize = 8 << 20
        workerStarted = true
        worker.start()

        control.sync { fireSchedules() }

        let detector = CompleteFileDetector(window: options.stabilityWindow, unprovenWindow: options.unprovenWindow,
                                            queue: inboxQueue) { [weak self] file in
            guard let self else { return }
            self.hashAndRoute(file)
        }
        let mode: InboxWatcher.Mode = options.pollInterval.map { .poll(interval: $0) } ?? .inotify
        let watcher = InboxWatcher(root: inbox, mode: mode, queue: inboxQueue) { [weak self, detector] event in
            switch event {
            case .rescanned:
                self?.logger.debug("inbox rescanned", metadata: ["overflows": "\(self?.watcher?.overflowCount ?? 0)"])
            case let .removed(path):
                self?.hashes.forget(path)
            default:
                break
            }
            detector.handle(event)
        }
        self.detector = detector
        self.watcher = watcher
        try watcher.start()

        heartbeat = Heartbeat(interval: options.heartbeatInterval) { [weak self] in self?.writeStatus(.running) }
        writeStatus(.running)
        logger.info("watching", metadata: [
            "inbox": "\(workspace.relative(inbox))", "mode": "\(modeName)",
            "pipelines": "\(control.sync { manifests.all.map(\.name).joined(separator: ",") })",
            "pid": "\(getpid())",
        ])
    }

    /// Stops taking work, lets the running stage reach its next saved state, records the run,
    /// releases the workspace. Safe to call more than once and from any thread but the run worker.
    public func stop() {
        let first = state.withLock { () -> Bool in
            defer { stopping = true }
            return !stopping
        }
        guard first else {
            waitUntilStopped()
            return
        }
        // Without the session this process never owned the workspace (a refused start): it must
        // not touch the status file of the daemon that does.
        let owned = session != nil
        if owned {
            logger.info("stopping: no new work; the running stage stops at its next saved state")
            writeStatus(.stopping)
        }
        control.sync {
            scheduleTimer?.cancel()
            scheduleTimer = nil
        }
        watcher?.stop()
        let dropped = queue.stop()
        if !dropped.isEmpty {
            logger.info("dropped queued runs; the next start picks them up",
                        metadata: ["count": "\(dropped.count)", "pipelines": "\(Set(dropped.map(\.pipeline)).sorted().joined(separator: ","))"])
        }
        session?.cancel()
        if workerStarted { workerDone.wait() }
        heartbeat?.stop()
        if owned { writeStatus(.stopped) }
        session?.close()
        state.withLock { stopped = true }
        if owned { logger.info("stopped") }
    }

    private func waitUntilStopped() {
        while !state.withLock({ stopped }) { usleep(10_000) }
    }

    /// Re-reads the manifests (SIGHUP). A manifest that no longer loads keeps its previous version.
    public func reload() {
        control.async { [self] in
            guard !state.withLock({ stopping }) else { return }
            let before = Dictionary(manifests.all.map { ($0.name, $0.manifest) }) { a, _ in a }
            let report = manifests.reload()
            logReload(report, initial: false)
            let names = manifests.all.map(\.name)
            state.withLock { statusPipelines = names }
            for name in Set(report.changed + report.loaded + report.removed) { clock.reset(pipeline: name) }
            for m in manifests.all where before[m.name] != nil && before[m.name]?.schedule != m.manifest.schedule {
                guard let spec = m.manifest.schedule, let s = try? Self.schedule(of: m.manifest, spec) else { continue }
                do { try clock.rebase(s) } catch {
                    logger.error("cannot record the changed schedule's start", metadata: ["pipeline": "\(m.name)", "error": "\(error)"])
                }
            }
            // Files already in the inbox may matter to a new or changed pipeline; held files are
            // routed once every manifest loads.
            let changed = manifests.all.contains { before[$0.name] != $0.manifest }
            if changed || (manifests.failingFiles.isEmpty && !heldFiles.isEmpty) {
                heldFiles = []
                for (path, signature) in InboxWatcher.files(below: inbox.path) {
                    hashAndRoute(CompleteFile(path: path, signature: signature))
                }
            }
            fireSchedules()
            writeStatus(.running)
        }
    }

    /// Runs until SIGTERM or SIGINT (then stops cleanly and returns 0); SIGHUP reloads. A second
    /// SIGTERM/SIGINT exits at once with 130, leaving the run to be marked crashed and resumed.
    public func runUntilSignalled() -> Int32 {
        let signals = DispatchQueue(label: "sira.watch.signals")
        let done = DispatchSemaphore(value: 0)
        let counter = SignalCounter()
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: signals)
            source.setEventHandler { [self] in
                if counter.increment() > 1 {
                    logger.warning("second signal: exiting now; the run will show as crashed and resume at the next start")
                    exit(130)
                }
                logger.info("signal received", metadata: ["signal": "\(sig == SIGTERM ? "SIGTERM" : "SIGINT")"])
                Thread.detachNewThread {
                    self.stop()
                    done.signal()
                }
            }
            source.resume()
            sources.append(source)
        }
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: signals)
        hup.setEventHandler { [self] in
            logger.info("SIGHUP: reloading manifests")
            reload()
        }
        hup.resume()
        sources.append(hup)
        done.wait()
        for s in sources { s.cancel() }
        return 0
    }

    // MARK: state for callers

    /// Pipelines currently loaded.
    public var pipelines: [String] { control.sync { manifests.all.map(\.name) } }

    /// Requests waiting to run.
    public var queued: [RunRequest] { queue.waiting }

    private var modeName: String { options.pollInterval.map { "poll every \($0) s" } ?? "inotify" }

    // MARK: start-up

    /// Resumes the latest run of each pipeline if it crashed or was stopped. (Files that arrived
    /// while nothing watched come from the watcher's start-up rescan.)
    private func queueStartupWork() {
        for m in manifests.all {
            let latest = try? store.runs(RunFilter(pipeline: m.name, limit: 1)).first
            if let latest, latest.status == .crashed || latest.status == .cancelled {
                logger.info("resuming", metadata: ["pipeline": "\(m.name)", "previous": "\(latest.id)", "was": "\(latest.status.rawValue)"])
                queue.enqueue(RunRequest(pipeline: m.name, trigger: .resume(previous: latest.id)))
            }
        }
    }

    private func logReload(_ report: ManifestSet.Report, initial: Bool) {
        for p in report.problems {
            logger.error("manifest not loaded", metadata: ["file": "\(p.file)", "kept_previous": "\(p.keptPrevious)", "error": "\(p.message)"])
        }
        if !initial {
            logger.info("manifests reloaded", metadata: [
                "new": "\(report.loaded.joined(separator: ","))", "changed": "\(report.changed.joined(separator: ","))",
                "removed": "\(report.removed.joined(separator: ","))",
            ])
        }
    }

    // MARK: files

    private func hashAndRoute(_ file: CompleteFile) {
        hashQueue.async { [self] in
            do {
                let sha = try hashes.sha256(of: file.path)
                control.async { self.route(file, sha256: sha) }
            } catch {
                logger.debug("file vanished before it was hashed", metadata: ["file": "\(file.path)"])
            }
        }
    }

    private func route(_ file: CompleteFile, sha256: String) {
        dispatchPrecondition(condition: .onQueue(control))
        guard !state.withLock({ stopping }) else { return }
        let shown = workspace.relative(URL(fileURLWithPath: file.path))
        let routes = InboxRouter.routes(of: file.path, manifests: manifests.all, workspace: workspace)
        hooks.fileComplete?(file, routes)
        if routes.isEmpty {
            if !manifests.failingFiles.isEmpty {
                heldFiles.append(file.path)
                logger.warning("file not routed while a manifest fails to load; kept in the inbox",
                               metadata: ["file": "\(shown)"])
                return
            }
            let names = manifests.all.map(\.name)
            let reason = names.isEmpty
                ? "no pipeline takes \(shown): there are no manifests in pipelines/"
                : "no pipeline takes \(shown): no task's `from` matches it (pipelines: \(names.joined(separator: ", ")))"
            quarantineFile(file.path, reason: reason)
            return
        }
        logger.info("file complete", metadata: [
            "file": "\(shown)", "bytes": "\(file.signature.size)", "sha256": "\(sha256.prefix(12))",
            "routes": "\(routes.map { "\($0.task)@\($0.pipeline)" }.joined(separator: ","))",
        ])
        var alreadyProcessed = 0
        let pipelines = Set(routes.map(\.pipeline)).sorted()
        defer {
            // Content every taker has run on never needs to be read again (issue 16, item 7).
            if alreadyProcessed == pipelines.count { archiveProcessed(file.path, sha256: sha256) }
        }
        for pipeline in pipelines {
            if manifests.manifest(named: pipeline)?.schedule != nil {
                logger.info("taken at the pipeline's next tick", metadata: [
                    "pipeline": "\(pipeline)", "next": "\(nextTick(of: pipeline).map(ScheduleTimeFormat.iso) ?? "-")",
                ])
            } else if processedHashes(pipeline).contains(sha256) {
                alreadyProcessed += 1
                logger.info("content already processed; no run", metadata: ["pipeline": "\(pipeline)", "file": "\(shown)"])
                hooks.runSkipped?(RunRequest(pipeline: pipeline, trigger: .inputs), "content already processed")
            } else if state.withLock({ pending[pipeline, default: []].insert(sha256).inserted }) {
                queue.enqueue(RunRequest(pipeline: pipeline, trigger: .inputs))
            }
        }
    }

    private func archiveProcessed(_ path: String, sha256: String) {
        guard let archive else { return }
        let shown = workspace.relative(URL(fileURLWithPath: path))
        do {
            let moved = try archive(URL(fileURLWithPath: path), sha256)
            logger.info("content already processed: archived, never ingested again", metadata: ["file": "\(shown)", "to": "\(workspace.relative(moved))"])
            hashes.forget(path)
            hooks.archived?(path, moved.path)
        } catch {
            logger.error("cannot archive; left in the inbox", metadata: ["file": "\(shown)", "error": "\(error)"])
        }
    }

    private func quarantineFile(_ path: String, reason: String) {
        let shown = workspace.relative(URL(fileURLWithPath: path))
        guard let quarantine else {
            logger.warning("file not taken by any pipeline; left in the inbox", metadata: ["file": "\(shown)", "reason": "\(reason)"])
            return
        }
        do {
            let moved = try quarantine(URL(fileURLWithPath: path), reason)
            logger.warning("file quarantined", metadata: ["file": "\(shown)", "to": "\(workspace.relative(moved))", "reason": "\(reason)"])
            hooks.quarantined?(path, reason)
        } catch {
            logger.error("cannot quarantine; left in the inbox", metadata: ["file": "\(shown)", "error": "\(error)"])
        }
    }

    // MARK: schedules

    private func schedules() -> [PipelineSchedule] {
        var out: [PipelineSchedule] = []
        for m in manifests.all {
            guard let spec = m.manifest.schedule else { continue }
            do {
                out.append(try Self.schedule(of: m.manifest, spec))
                scheduleProblems[m.name] = nil
            } catch {
                if scheduleProblems[m.name] != "\(error)" {
                    logger.error("schedule ignored", metadata: ["pipeline": "\(m.name)", "error": "\(error)"])
                    scheduleProblems[m.name] = "\(error)"
                }
            }
        }
        return out
    }

    /// The clock's view of a manifest's `schedule:`.
    public static func schedule(of manifest: Manifest, _ spec: ScheduleSpec) throws -> PipelineSchedule {
        let cron = try CronSchedule(cron: spec.cron, timeZone: spec.timezone)
        let policy = try CatchUpPolicy(parsing: spec.catchup.rawValue, max: spec.catchup == .all ? spec.maxCatchup : nil)
        return PipelineSchedule(pipeline: manifest.name, schedule: cron, catchUp: policy)
    }

    private func nextTick(of pipeline: String) -> Date? {
        schedules().first { $0.pipeline == pipeline }?.schedule.next(after: Date())
    }

    /// Queues every due tick, then sleeps until the next one (at most a minute, so a clock jump
    /// or a suspended machine is noticed).
    private func fireSchedules() {
        dispatchPrecondition(condition: .onQueue(control))
        guard !state.withLock({ stopping }) else { return }
        let list = schedules()
        let now = Date()
        do {
            for decision in try clock.decide(list, now: now) {
                if decision.firstSeen {
                    logger.info("schedule starts", metadata: ["pipeline": "\(decision.pipeline)"])
                }
                if decision.plan.skipped > 0 {
                    logger.info("missed ticks skipped by the catch-up policy",
                                metadata: ["pipeline": "\(decision.pipeline)", "skipped": "\(decision.plan.skipped)"])
                }
                for tick in decision.due {
                    logger.info("tick due", metadata: ["pipeline": "\(tick.pipeline)", "tick": "\(ScheduleTimeFormat.iso(tick.tick))"])
                    queue.enqueue(RunRequest(pipeline: tick.pipeline, trigger: .schedule(tick)))
                }
            }
        } catch {
            logger.error("schedule bookkeeping failed; retrying in a minute", metadata: ["error": "\(error)"])
        }
        nextTick = clock.nextWake(list, after: now)
        let upcoming = nextTick
        state.withLock { statusNextTick = upcoming }
        let wake = min(nextTick ?? now.addingTimeInterval(60), now.addingTimeInterval(60))
        if scheduleTimer == nil {
            let t = DispatchSource.makeTimerSource(queue: control)
            t.setEventHandler { [weak self] in self?.fireSchedules() }
            scheduleTimer = t
            t.schedule(wallDeadline: Self.wallTime(wake.addingTimeInterval(0.005)), leeway: .milliseconds(10))
            t.resume()
        } else {
            scheduleTimer!.schedule(wallDeadline: Self.wallTime(wake.addingTimeInterval(0.005)), leeway: .milliseconds(10))
        }
    }

    static func wallTime(_ date: Date) -> DispatchWallTime {
        let t = date.timeIntervalSince1970
        let seconds = t.rounded(.down)
        return DispatchWallTime(timespec: timespec(tv_sec: Int(seconds), tv_nsec: Int((t - seconds) * 1e9)))
    }

    // MARK: runs

    private func execute(_ request: RunRequest) {
        guard !state.withLock({ stopping }) else { return }
        guard let manifest = control.sync(execute: { manifests.manifest(named: request.pipeline) }) else {
            skip(request, "pipeline \(request.pipeline) is no longer loaded")
            return
        }
        let meta: Logger.Metadata = ["pipeline": "\(request.pipeline)", "trigger": "\(request.trigger)"]
        // What the run's ingest will read: every input file present now.
        let inputs = hashes.inputHashes(manifest, workspace: workspace)
        if request.trigger == .inputs {
            state.withLock { pending[request.pipeline] = nil }
            if inputs.subtracting(processedHashes(request.pipeline)).isEmpty {
                skip(request, "inputs already processed")
                return
            }
        }
        let stages: [any PipelineStage]
        do {
            stages = try planner(manifest, workspace)
        } catch {
            logger.error("cannot plan the run", metadata: meta.merging(["error": "\(error)"]) { $1 })
            skip(request, "cannot plan: \(error)")
            return
        }
        var params = ManifestParameters.forRun(manifest, executor: session.executor.name)
        params["watch.inputs"] = inputs.sorted().joined(separator: ",")
        params["watch.trigger"] = request.trigger.description
        switch request.trigger {
        case let .schedule(tick):
            recorder.arm(tick)
            params["schedule.tick"] = ScheduleTimeFormat.iso(tick.tick)
        case let .resume(previous):
            params["resume.of"] = String(previous)
        case .inputs:
            recorder.arm(nil)
        }
        defer { recorder.arm(nil) }
        state.withLock { current = (request.pipeline, nil) }
        defer { state.withLock { current = nil } }
        let observer = RunLogObserver(logger: logger) { [self] runID in
            state.withLock { current = (request.pipeline, runID) }
            hooks.runStarted?(request, runID)
            writeStatus(.running)
        }
        do {
            let summary = try session.run(
                stages: stages, pipeline: manifest.name, manifestHash: manifest.sha256, params: params,
                jobs: manifest.jobs, retries: manifest.retries,
                options: RunOptions(jobs: options.jobs, trigger: request.trigger.recorded,
                                    heartbeatInterval: options.heartbeatInterval, backoff: options.backoff),
                observer: observer)
            if summary.status == .succeeded || summary.status == .failed {
                _ = processedHashes(request.pipeline) // loaded before it is extended
                state.withLock { processed[request.pipeline, default: []].formUnion(inputs) }
            }
            hooks.runFinished?(request, summary)
        } catch let error as TickAlreadyFired {
            skip(request, error.description)
        } catch {
            logger.error("run could not start", metadata: meta.merging(["error": "\(error)"]) { $1 })
            skip(request, "\(error)")
        }
    }

    private func skip(_ request: RunRequest, _ why: String) {
        logger.debug("no run", metadata: ["pipeline": "\(request.pipeline)", "trigger": "\(request.trigger)", "why": "\(why)"])
        hooks.runSkipped?(request, why)
    }

    /// Content hashes the pipeline's finished runs (succeeded or failed: a failed run is not retried
    /// on the same inputs) covered, from memory or the runs' recorded `watch.inputs`.
    private func processedHashes(_ pipeline: String) -> Set<String> {
        if let known = state.withLock({ processed[pipeline] }) { return known }
        var out = Set<String>()
        let runs = (try? store.runs(RunFilter(pipeline: pipeline))) ?? []
        for run in runs where run.status == .succeeded || run.status == .failed {
            let value = (try? store.params(run: run.id))?.first { $0.key == "watch.inputs" && $0.stageRunID == nil }?.value
            for h in (value ?? "").split(separator: ",") { out.insert(String(h)) }
        }
        state.withLock { processed[pipeline] = out }
        return out
    }

    // MARK: status

    private func writeStatus(_ s: DaemonStatus.State) {
        let (run, pipeline) = state.withLock { (current?.run, current?.pipeline) }
        // (never touches `control`: called from it, from the worker and from timers)
        let status = DaemonStatus(
            pid: getpid(), host: RunStore.currentHost, state: s, mode: modeName, startedAt: startedAt, beat: Date(),
            pipelines: state.withLock { statusPipelines }, currentRun: run, currentPipeline: pipeline,
            queued: queue.waiting.count, nextTick: state.withLock { statusNextTick })
        do { try status.write(workspace) } catch {
            logger.warning("cannot write the status file", metadata: ["error": "\(error)"])
        }
    }
}

/// Counts stop signals (the second one exits at once).
private final class SignalCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() -> Int { lock.withLock { count += 1; return count } }
}
