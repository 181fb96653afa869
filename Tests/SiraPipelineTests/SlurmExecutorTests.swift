import Foundation
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import SiraStore
import Testing

/// The Slurm executor against a real slurmctld/slurmd (scripts/slurm/start-local-slurm.sh).
/// Serialized: the single node has two CPUs and the tests watch the queue.
@Suite(.serialized)
struct SlurmExecutorTests {
    /// The probe pipeline on Slurm and locally, same seed: the same stages succeed, fail and are
    /// skipped, with identical metrics; the failing task is retried as a new job, its
    /// evaluation never runs, and every other task finishes.
    @Test func probeOnSlurmMatchesLocalAndAFailingTaskStopsOnlyItsOwnChain() throws {
        try SlurmTestCluster.requireRunning()
        let tasks = ["alpha", "b c", "it's $(touch PWNED)", "d"]
        let failing = "b c"
        let probe = ProbePipeline(tasks: tasks, failing: [failing], seconds: 0.2, seed: 11)

        let localWS = HostileWorkspace()
        let localRecorder = MemoryRecorder()
        let local = try runProbe(probe, in: localWS.workspace, executor: LocalExecutor(), retries: 1, recorder: localRecorder)

        let ws = HostileWorkspace()
        let recorder = MemoryRecorder()
        let executor = SlurmExecutor(options: try slurmOptions())
        let started = Date()
        let slurm = try runProbe(probe, in: ws.workspace, executor: executor, retries: 1, recorder: recorder)
        let seconds = Date().timeIntervalSince(started)

        // Independent expectation: which stages must succeed, fail, be skipped.
        let failTrain = StageID(.train, task: failing, variant: ProbePipeline.variant)
        let failEval = StageID(.evaluate, task: failing, variant: ProbePipeline.variant)
        let package = StageID(.package, variant: ProbePipeline.variant)
        for summary in [local, slurm] {
            #expect(summary.status == .failed)
            #expect(summary.stage(failTrain)?.status == .failed)
            #expect(summary.stage(failTrain)?.attempts == 2)
            #expect(summary.stage(failEval)?.status == .skipped)
            #expect(summary.stage(package)?.status == .skipped)
            let others = summary.stages.filter { ![failTrain, failEval, package].contains($0.id) }
            #expect(others.count == 3 * tasks.count - 2 + 1)
            #expect(others.allSatisfy { $0.status == .succeeded }, "\(others.filter { $0.status != .succeeded }.map { "\($0.id) \($0.status) \($0.error ?? "")" })")
        }
        // Same metrics, stage by stage (final metrics and the per-step series).
        for stage in local.stages {
            let remote = try #require(slurm.stage(stage.id))
            #expect(remote.status == stage.status, "\(stage.id)")
            #expect(remote.metrics == stage.metrics, "\(stage.id)")
            #expect(!stage.status.producedOutput || stage.metrics["probe.value"] != nil)
        }
        func series(_ r: MemoryRecorder) -> [String: [Double]] {
            var out: [String: [Double]] = [:]
            for m in r.metrics where m.sample.step != nil {
                out["\(m.stage) \(m.sample.key) \(m.sample.step!)", default: []].append(m.sample.value)
            }
            return out
        }
        #expect(series(recorder) == series(localRecorder))
        #expect(series(recorder).count == 7 * tasks.count)

        // Every recorded attempt ran on Slurm; the failing train ran twice, as two jobs.
        let folder = SlurmRunFolder(workspace: ws.workspace, runID: slurm.runID)
        let spec = try folder.loadSpec()
        let failNumber = try #require(spec.number(of: failTrain.description))
        let first = try #require(folder.result(stage: failNumber, attempt: 1))
        let second = try #require(folder.result(stage: failNumber, attempt: 2))
        #expect(first.status == .failed && second.status == .failed)
        #expect(first.error?.contains("fails on purpose") == true)
        #expect(first.job != nil && second.job != nil && first.job != second.job)
        // The failing task's evaluation never ran: no result, no output file.
        let evalNumber = try #require(spec.number(of: failEval.description))
        #expect(folder.result(stage: evalNumber, attempt: 1) == nil)
        for t in tasks where t != failing {
            let n = try #require(spec.number(of: StageID(.evaluate, task: t, variant: ProbePipeline.variant).description))
            let r = try #require(folder.result(stage: n, attempt: 1))
            #expect(r.status == .succeeded)
            #expect(r.job?.contains("_") == true, "evaluate runs as an array element")
        }
        #expect(recorder.stages.filter { $0.record.executor == "slurm" }.count == recorder.stages.count)
        // Each launched attempt carries its job id, as the job itself reported it.
        let trainRows = recorder.stages.filter { $0.record.stage == failTrain }.sorted { $0.record.attempt < $1.record.attempt }
        #expect(trainRows.map(\.record.externalID) == [first.job, second.job])
        #expect(recorder.stages.filter { $0.status == .succeeded }.allSatisfy { $0.record.externalID != nil })
        // Nothing of the run is left in the queue, and no name reached a shell.
        let left = SlurmTestCluster.queued(ws.workspace, runID: slurm.runID)
        #expect(left.isEmpty, "\(left)")
        #expect(ws.pwned().isEmpty && localWS.pwned().isEmpty)
        #expect(seconds < 240)
    }

    /// Cancelling the run (what SIGINT does) scancels its jobs: the running stage gets SIGTERM,
    /// saves and reports `cancelled`; queued ones never start; the queue is left empty.
    @Test func cancellingTheRunCancelsItsJobs() throws {
        try SlurmTestCluster.requireRunning()
        let probe = ProbePipeline(tasks: ["x", "y"], seconds: 60, seed: 3)
        let ws = HostileWorkspace()
        let executor = SlurmExecutor(options: try slurmOptions())
        let events = EventLog()
        let sessionBox = SessionBox()
        let running = DispatchSemaphore(value: 0)
        events.onEvent = { event in
            // A report from inside the stage (forwarded from the job's progress file), not the queue state.
            if case let .progress(p) = event, p.total == 7 { running.signal() }
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var summary: RunSummary?
        nonisolated(unsafe) var failure: Error?
        Thread.detachNewThread {
            do {
                summary = try runProbe(probe, in: ws.workspace, executor: executor, retries: 2, observer: events) { sessionBox.set($0) }
            } catch { failure = error }
            done.signal()
        }
        #expect(running.wait(timeout: .now() + 90) == .success, "no stage started running on Slurm")
        let cancelledAt = Date()
        sessionBox.get()?.cancel()
        #expect(done.wait(timeout: .now() + 60) == .success, "the run did not stop after cancel")
        #expect(failure == nil)
        let s = try #require(summary)
        #expect(Date().timeIntervalSince(cancelledAt) < 45)
        #expect(s.status == .cancelled)
        #expect(s.stages.allSatisfy { $0.status == .cancelled || $0.status == .succeeded }, "\(s.stages.map { "\($0.id) \($0.status)" })")
        #expect(s.stages.contains { $0.status == .cancelled && $0.attempts == 1 })
        // The stage that was running wrote its own `cancelled` result after SIGTERM.
        let folder = SlurmRunFolder(workspace: ws.workspace, runID: s.runID)
        let spec = try folder.loadSpec()
        let reported = (0 ..< spec.stages.count).compactMap { folder.result(stage: $0, attempt: 1) }
        #expect(reported.contains { $0.status == .cancelled })
        // Nothing retried (a cancelled run does not retry), nothing left queued.
        #expect(s.stages.allSatisfy { $0.attempts <= 1 })
        var left: [QueuedJob] = []
        for _ in 0 ..< 20 {
            left = SlurmTestCluster.queued(ws.workspace, runID: s.runID)
            if left.isEmpty { break }
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(left.isEmpty, "\(left)")
    }
}

extension SlurmExecutorTests {
    /// A job stopped from outside is a failed attempt: the stage is submitted again, resumes,
    /// and its dependants, whose jobs waited on the dead one, are submitted again and finish.
    /// `kill`: SIGKILL to the job's processes, so no result file (an OOM kill, a lost node);
    /// `scancel`: SIGTERM, the stage saves and reports `cancelled` (a time limit, preemption).
    @Test(arguments: ["kill", "scancel"])
    func aJobStoppedOutsideIsRetriedWithItsDependants(how: String) throws {
        try SlurmTestCluster.requireRunning()
        let probe = ProbePipeline(tasks: ["k", "m"], seconds: 4, seed: 5)
        let ws = HostileWorkspace()
        // Recorded in SQLite, as `run` does: only this process writes it.
        let recorder = try StoreRecorder(workspace: ws.workspace)
        let events = EventLog()
        let ingest = StageID(.ingest, task: "k")
        let running = DispatchSemaphore(value: 0)
        events.onEvent = { event in
            if case let .progress(p) = event, p.stage == ingest, p.total == 7 { running.signal() }
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var summary: RunSummary?
        nonisolated(unsafe) var failure: Error?
        let executor = SlurmExecutor(options: try slurmOptions())
        Thread.detachNewThread {
            do {
                summary = try runProbe(probe, in: ws.workspace, executor: executor, retries: 1, recorder: recorder, observer: events)
            } catch { failure = error }
            done.signal()
        }
        #expect(running.wait(timeout: .now() + 90) == .success, "ingest@k never ran")
        // Its job: the run's array element with index 0 (task k), as the queue shows it.
        // The run is the workspace's first (its database is fresh).
        let job = try #require(SlurmTestCluster.queued(ws.workspace, runID: 1).first { $0.id.hasSuffix("_0") && $0.state == "RUNNING" })
        if how == "kill" {
            // SIGKILL straight to the job's processes (scancel sends SIGTERM first).
            let (_, shown) = SlurmTestCluster.run("scontrol", ["show", "job", "--oneliner", job.id])
            let rawID = try #require(shown.split(separator: " ").first { $0.hasPrefix("JobId=") }?.dropFirst(6))
            let (status, out) = SlurmTestCluster.run("scontrol", ["listpids", String(rawID)])
            let pids = out.split(separator: "\n").compactMap { Int32($0.split(separator: " ").first ?? "") }
            #expect(status == 0 && !pids.isEmpty, "\(out)")
            for pid in pids { kill(pid, SIGKILL) }
        } else {
            let (status, out) = SlurmTestCluster.run("scancel", [job.id])
            #expect(status == 0, "\(out)")
        }
        #expect(done.wait(timeout: .now() + 150) == .success, "the run did not finish")
        #expect(failure == nil)
        let s = try #require(summary)
        #expect(s.status == .succeeded, "\(s.stages.map { "\($0.id) \($0.status) \($0.error ?? "")" })")
        #expect(s.stage(ingest)?.attempts == 2)
        #expect(s.stages.filter { $0.id != ingest }.allSatisfy { $0.attempts == 1 && $0.status == .succeeded })
        let rows = try recorder.store.stages(run: s.runID)
        let first = try #require(rows.first { $0.stage == ingest.description && $0.attempt == 1 })
        let second = try #require(rows.first { $0.stage == ingest.description && $0.attempt == 2 })
        #expect(first.status == .failed && second.status == .succeeded)
        #expect(first.externalID == job.id && second.externalID != nil && second.externalID != job.id)
        if how == "kill" {
            #expect(first.error?.contains("Slurm job \(job.id)") == true && first.error?.contains("without writing its result") == true,
                    "\(first.error ?? "")")
        } else {
            #expect(first.error?.contains("stopped by Slurm before it finished") == true, "\(first.error ?? "")")
            // The second attempt ran as a job of its own, logged under its attempt number.
            let log = try String(contentsOf: ws.workspace.resolve(try #require(second.logPath)), encoding: .utf8)
            #expect(log.contains("attempt 2"), "\(log)")
        }
        #expect(rows.allSatisfy { $0.executor == "slurm" && $0.finishedAt != nil })
        #expect(try recorder.store.run(s.runID)?.status == .succeeded)
        #expect(ws.pwned().isEmpty)
    }
}

extension SlurmExecutorTests {
    /// After a failure is fixed, a rerun submits only what is not in the cache, and those jobs
    /// take their inputs from cached stages that got no job. A rerun of an unchanged pipeline
    /// submits nothing, on Slurm as locally (the local executor reuses what Slurm built).
    @Test func rerunsSubmitOnlyWhatIsNotCached() throws {
        try SlurmTestCluster.requireRunning()
        let probe = ProbePipeline(tasks: ["p", "q r"], seed: 9)
        let broken = ProbePipeline(tasks: ["p", "q r"], failing: ["q r"], seed: 9)
        let ws = HostileWorkspace()
        let failed = try runProbe(broken, in: ws.workspace, executor: SlurmExecutor(options: try slurmOptions()), retries: 0)
        #expect(failed.status == .failed && failed.count(.succeeded) == 5 && failed.count(.skipped) == 2)

        let fixed = try runProbe(probe, in: ws.workspace, executor: SlurmExecutor(options: try slurmOptions()), retries: 0)
        #expect(fixed.status == .succeeded, "\(fixed.stages.map { "\($0.id) \($0.status) \($0.error ?? "")" })")
        #expect(fixed.count(.cached) == 5 && fixed.count(.succeeded) == 3)
        let fixedFolder = SlurmRunFolder(workspace: ws.workspace, runID: fixed.runID)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixedFolder.scriptsFolder.path).count == 3)

        let started = Date()
        let again = try runProbe(probe, in: ws.workspace, executor: SlurmExecutor(options: try slurmOptions()), retries: 0)
        let seconds = Date().timeIntervalSince(started)
        #expect(again.status == .succeeded)
        #expect(again.count(.cached) == again.stages.count)
        // No job was written (below); the bound only catches a rerun that waited on the queue
        // (one poll round is seconds), with room for a loaded CI machine.
        #expect(seconds < 20, "\(seconds) s")
        let folder = SlurmRunFolder(workspace: ws.workspace, runID: again.runID)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.scriptsFolder.path).isEmpty)
        let local = try runProbe(probe, in: ws.workspace, executor: LocalExecutor(), retries: 0)
        #expect(local.count(.cached) == local.stages.count)
        for s in fixed.stages { #expect(again.stage(s.id)?.metrics == s.metrics && local.stage(s.id)?.metrics == s.metrics) }

        // --force: the forced stage gets a job and runs although cached (the job is told so);
        // its dependants' jobs find their outputs cached, as the output's bytes are the same.
        let target = StageID(.train, task: "q r", variant: ProbePipeline.variant)
        let forced = try runProbe(probe, in: ws.workspace, executor: SlurmExecutor(options: try slurmOptions()), retries: 0,
                                  force: [target.description])
        #expect(forced.status == .succeeded)
        #expect(forced.stage(target)?.status == .succeeded, "\(forced.stages.map { "\($0.id) \($0.status)" })")
        #expect(forced.stages.filter { $0.id != target }.allSatisfy { $0.status == .cached })
        #expect(forced.stage(target)?.metrics == fixed.stage(target)?.metrics)
    }
}

final class SessionBox: @unchecked Sendable {
    private let lock = NSLock()
    private var session: WorkspaceSession?
    func set(_ s: WorkspaceSession) { lock.withLock { session = s } }
    func get() -> WorkspaceSession? { lock.withLock { session } }
}
