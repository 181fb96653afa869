import Foundation
import Logging
import SiraIO
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// A daemon on a temporary workspace with synthetic stages; hooks collect what happened.
final class DaemonHarness: @unchecked Sendable {
    let tw = TempWorkspace("watchd")
    let log = RunLog()
    let started = Collected<(RunRequest, Int64)>()
    let finished = Collected<(RunRequest, RunSummary)>()
    let skipped = Collected<(RunRequest, String)>()
    let quarantined = Collected<(String, String)>()
    let archived = Collected<(String, String)>()
    let complete = Collected<String>()
    /// Steps of the looping stage (0: a quick stage).
    var steps = 0

    static let manifest = """
    name: demo
    tasks:
      - name: sentiment
        from: data/inbox/sentiment*.jsonl
    adapters:
      lora: {r: 4}
    """

    init(manifest: String = DaemonHarness.manifest) throws {
        try tw.write(manifest, to: "pipelines/demo.yaml")
        try FileManager.default.createDirectory(at: tw.workspace.dataFolder.appendingPathComponent("inbox"), withIntermediateDirectories: true)
    }

    var inbox: URL { tw.workspace.dataFolder.appendingPathComponent("inbox") }

    func daemon(grace: TimeInterval = 120) -> WatchDaemon {
        var hooks = WatchHooks()
        let started = started, finished = finished, skipped = skipped, quarantined = quarantined, complete = complete
        let archived = archived
        hooks.archived = { archived.add(($0, $1)) }
        hooks.runStarted = { started.add(($0, $1)) }
        hooks.runFinished = { finished.add(($0, $1)) }
        hooks.runSkipped = { skipped.add(($0, $1)) }
        hooks.quarantined = { quarantined.add(($0, $1)) }
        hooks.fileComplete = { file, _ in complete.add(file.path) }
        let log = self.log, steps = self.steps
        let planner: StagePlanner = { manifest, _ in
            [SyntheticStage(id: StageID(.ingest, task: manifest.tasks[0].name), dependencies: [], param: manifest.name,
                            log: log, loopUntilCancelled: steps > 1000, steps: steps)]
        }
        let quarantine = dataQuarantine(tw.workspace)
        var logger = Logger(label: "test.watch") { LineLogHandler(label: $0, format: .text, write: { _ in }) }
        logger.logLevel = .debug
        return WatchDaemon(workspace: tw.workspace,
                           options: WatchOptions(stabilityWindow: 0.05, grace: grace, heartbeatInterval: 0.1, backoff: 0.01),
                           logger: logger, planner: planner, quarantine: quarantine, archive: dataArchive(tw.workspace), hooks: hooks)
    }

    func write(_ text: String, _ name: String) throws {
        try Data(text.utf8).write(to: inbox.appendingPathComponent(name))
    }

    func store() throws -> RunStore { try RunStore(path: tw.workspace.databaseURL.path) }
}

@Suite struct WatchDaemonTests {
    @Test func sameContentUnderAnyNameRunsOnceAndAChangedFileRunsAgain() throws {
        let h = try DaemonHarness()
        let d = h.daemon()
        try d.start()
        defer { d.stop() }
        try h.write("{\"text\": \"good\"}\n", "sentiment-a.jsonl")
        #expect(h.finished.wait(timeout: 10) { $0.count == 1 })
        // the same bytes under another name
        try h.write("{\"text\": \"good\"}\n", "sentiment-copy.jsonl")
        #expect(h.complete.wait(timeout: 10) { $0.count == 2 })
        #expect(h.skipped.wait(timeout: 10) { $0.contains { $0.1 == "content already processed" } })
        #expect(h.started.all.count == 1)
        // ...leaves the inbox for the archive (by content), so no later run reads it again.
        let copy = h.inbox.appendingPathComponent("sentiment-copy.jsonl")
        let archived = h.tw.workspace.dataFolder.appendingPathComponent("archive/\(ContentHash.sha256("{\"text\": \"good\"}\n")).jsonl")
        #expect(h.archived.wait(timeout: 10) { $0.map(\.0) == [copy.path] })
        #expect(!FileManager.default.fileExists(atPath: copy.path) && FileManager.default.fileExists(atPath: archived.path))
        // a changed file: a new run
        try h.write("{\"text\": \"better\"}\n", "sentiment-a.jsonl")
        #expect(h.finished.wait(timeout: 10) { $0.count == 2 })
        usleep(200_000)
        #expect(h.started.all.count == 2)
        let runs = try h.store().runs(RunFilter(pipeline: "demo"))
        #expect(runs.map(\.status) == [.succeeded, .succeeded])
        #expect(runs.map(\.trigger) == ["watch", "watch"])
        // each run records the contents it covered: the second only the changed file's (the
        // duplicate of the first was archived)
        let good = ContentHash.sha256("{\"text\": \"good\"}\n"), better = ContentHash.sha256("{\"text\": \"better\"}\n")
        let inputs = try runs.map { run in try h.store().params(run: run.id).first { $0.key == "watch.inputs" }?.value }
        #expect(inputs == [better, good])
        // A watch run records the resolved manifest as `run` does, plus what triggered it, so
        // `compare` between a watch run and a manual run shows only real differences.
        let manifest = try ManifestLoader.load(h.tw.workspace.resolve("pipelines/demo.yaml"), displayPath: "pipelines/demo.yaml")
        let recorded = Set(try h.store().params(run: runs[0].id).filter { $0.stageRunID == nil }.map(\.key))
        let expected = Set(ManifestParameters.forRun(manifest, executor: "local").keys)
        #expect(recorded == expected.union(["watch.inputs", "watch.trigger"]), "\(recorded.symmetricDifference(expected))")
        #expect(recorded.contains("train.steps") && recorded.contains("tool.version") && recorded.contains("manifest.sha256"))
    }

    @Test func aFileDroppedWhileTheDaemonWasDownIsTakenAtStart() throws {
        let h = try DaemonHarness()
        let first = h.daemon()
        try first.start()
        first.stop()
        try h.write("{\"text\": \"x\"}\n", "sentiment-1.jsonl")
        let second = h.daemon()
        try second.start()
        defer { second.stop() }
        #expect(h.finished.wait(timeout: 10) { $0.count == 1 })
        let path = h.inbox.appendingPathComponent("sentiment-1.jsonl").path
        #expect(h.complete.wait(timeout: 10) { $0.contains(path) })
        usleep(200_000)
        #expect(h.started.all.count == 1)
    }

    @Test func aFileNoPipelineTakesIsQuarantinedWithAReason() throws {
        let h = try DaemonHarness()
        let d = h.daemon()
        try d.start()
        defer { d.stop() }
        try h.write("a,b\n", "unrelated.csv")
        #expect(h.quarantined.wait(timeout: 10) { $0.count == 1 })
        let (path, reason) = try #require(h.quarantined.all.first)
        #expect(path.hasSuffix("data/inbox/unrelated.csv"))
        #expect(reason.contains("no pipeline takes data/inbox/unrelated.csv"))
        #expect(reason.contains("pipelines: demo"))
        #expect(!FileManager.default.fileExists(atPath: path))
        // the data module's quarantine keeps the bytes and the reason side by side
        let kept = h.tw.workspace.quarantineFolder.appendingPathComponent("unrelated.csv")
        #expect(try String(contentsOf: kept, encoding: .utf8) == "a,b\n")
        let why = try String(contentsOf: kept.appendingPathExtension("reason"), encoding: .utf8)
        #expect(why.hasPrefix(reason + "\n"))
    }

    @Test func oneDaemonPerWorkspace() throws {
        let h = try DaemonHarness()
        let d = h.daemon()
        try d.start()
        defer { d.stop() }
        #expect(throws: WorkspaceBusy.self) { try h.daemon().start() }
        // the refused one left the running daemon's status alone
        #expect(DaemonStatus.read(h.tw.workspace)?.state == .running)
        #expect(DaemonStatus.read(h.tw.workspace)?.pid == getpid())
    }

    @Test func reloadKeepsTheOldManifestWhenTheNewOneIsInvalid() throws {
        let h = try DaemonHarness()
        let d = h.daemon()
        try d.start()
        defer { d.stop() }
        try h.tw.write("name: demo\ntasks: [oops\n", to: "pipelines/demo.yaml")
        d.reload()
        try h.write("{\"text\": \"x\"}\n", "sentiment-1.jsonl")
        // the old manifest still routes the file and runs
        #expect(h.finished.wait(timeout: 10) { $0.count == 1 })
        #expect(d.pipelines == ["demo"])
        // a valid change is taken: its new task takes a file the old manifest would quarantine
        try h.tw.write(DaemonHarness.manifest.replacingOccurrences(of: "adapters:", with: """
              - name: extra
                from: data/inbox/extra*.jsonl
            adapters:
            """), to: "pipelines/demo.yaml")
        d.reload()
        usleep(300_000)
        try h.write("{\"text\": \"y\"}\n", "extra-1.jsonl")
        #expect(h.finished.wait(timeout: 10) { $0.count == 2 })
        #expect(h.quarantined.all.isEmpty)
    }

    @Test func stopLetsTheStageSaveItsStateAndTheNextStartResumes() throws {
        let h = try DaemonHarness()
        h.steps = 1_000_000
        try h.write("{\"text\": \"x\"}\n", "sentiment-1.jsonl")
        let d = h.daemon()
        try d.start()
        #expect(h.started.wait(timeout: 10) { $0.count == 1 })
        let work = h.tw.workspace.cacheFolder
        func savedStep() -> Int {
            let file = FileManager.default.enumerator(at: work, includingPropertiesForKeys: nil)?
                .compactMap { $0 as? URL }.first { $0.lastPathComponent == "step" }
            return file.flatMap { try? String(contentsOf: $0, encoding: .utf8) }.flatMap { Int($0) } ?? 0
        }
        let deadline = Date().addingTimeInterval(10)
        while savedStep() < 3, Date() < deadline { usleep(10_000) }
        d.stop()
        let first = try #require(h.finished.all.first)
        #expect(first.1.status == .cancelled)
        #expect(try h.store().run(first.1.runID)?.status == .cancelled)
        // the saved step counter survives in the stage's work folder
        let step = savedStep()
        #expect(step >= 3)
        // next start: resumed (trigger "resume"), continuing from the saved step to a new end
        h.steps = step + 7
        let again = h.daemon()
        try again.start()
        defer { again.stop() }
        #expect(h.finished.wait(timeout: 10) { $0.count == 2 })
        let resumed = try #require(h.started.all.dropFirst().first)
        #expect(resumed.0.trigger == .resume(previous: first.1.runID))
        #expect(h.finished.all.last?.1.status == .succeeded)
        let losses = try h.store().metricSeries(run: resumed.1, key: "train.loss")
        #expect(losses.compactMap(\.step) == Array(step + 1 ... step + 7))
        #expect(try h.store().run(resumed.1)?.trigger == "resume")
    }

    @Test func missedTicksCatchUpAtStartAndARestartNeverFiresOneTwice() throws {
        let h = try DaemonHarness(manifest: DaemonHarness.manifest + """

        schedule: {cron: "* * * * *", timezone: UTC, catchup: all, max_catchup: 2}
        """)
        let store = try h.store()
        let minute = Int64(Date().timeIntervalSince1970) / 60 * 60
        // the schedule last fired five minutes ago; the daemon was down since
        #expect(try store.claimTick(pipeline: "demo", tickTime: minute - 300))
        let d = h.daemon(grace: 30)
        try d.start()
        #expect(h.finished.wait(timeout: 10) { $0.count >= 2 })
        usleep(300_000)
        d.stop()
        func scheduledRuns() throws -> [(RunRecord, Int64)] {
            try store.runs(RunFilter(pipeline: "demo")).filter { $0.trigger == "schedule" }.map { run in
                let iso = try #require(try store.params(run: run.id).first { $0.key == "schedule.tick" }?.value)
                return (run, Int64(utc(iso).timeIntervalSince1970))
            }
        }
        let firstRuns = try scheduledRuns()
        // max 2 of the missed ticks (-4..-1 min, or -4..0 when the current one is already late), plus
        // the current tick when on time
        #expect(firstRuns.count == 2 || firstRuns.count == 3)
        let ticks = firstRuns.map(\.1).sorted()
        #expect(ticks.first! >= minute - 120 && ticks.last! <= minute + 60)
        for (run, tick) in firstRuns { #expect(try store.tick(pipeline: "demo", tickTime: tick)?.runID == run.id) }
        // a restart fires nothing twice: every scheduled run has its own tick
        let again = h.daemon(grace: 30)
        try again.start()
        usleep(500_000)
        again.stop()
        let all = try scheduledRuns()
        #expect(Set(all.map(\.1)).count == all.count)
        #expect(all.count <= firstRuns.count + 1) // at most a tick that became due meanwhile
    }

    @Test func twoHundredFilesAtOnceAreEachRoutedOnceAndShareFewRuns() throws {
        let h = try DaemonHarness()
        let d = h.daemon()
        try d.start()
        defer { d.stop() }
        let staging = h.tw.url.appendingPathComponent("staging")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        for i in 0 ..< 200 {
            try Data("{\"text\": \"\(i)\"}\n".utf8).write(to: staging.appendingPathComponent("sentiment-\(i).jsonl"))
        }
        for i in 0 ..< 200 {
            #expect(rename(staging.appendingPathComponent("sentiment-\(i).jsonl").path, h.inbox.appendingPathComponent("sentiment-\(i).jsonl").path) == 0)
        }
        #expect(h.complete.wait(timeout: 20) { $0.count >= 200 })
        #expect(h.finished.wait(timeout: 20) { !$0.isEmpty })
        // settle: no request waiting, every started run finished
        let end = Date().addingTimeInterval(20)
        while Date() < end, !(d.queued.isEmpty && h.started.all.count == h.finished.all.count) { usleep(20_000) }
        usleep(300_000)
        #expect(h.complete.all.count == 200 && Set(h.complete.all).count == 200)
        // files arriving while a run waits join it: far fewer runs than files, and together they
        // covered every content exactly as the inbox holds it
        let runs = try h.store().runs(RunFilter(pipeline: "demo"))
        #expect(runs.count >= 1 && runs.count <= 5)
        let covered = try runs.flatMap { run in
            (try h.store().params(run: run.id).first { $0.key == "watch.inputs" }?.value ?? "").split(separator: ",").map(String.init)
        }
        let expected = Set((0 ..< 200).map { ContentHash.sha256("{\"text\": \"\($0)\"}\n") })
        #expect(Set(covered) == expected)
    }

    @Test func aChangedScheduleStartsAfreshInsteadOfCatchingUp() throws {
        let h = try DaemonHarness(manifest: DaemonHarness.manifest + """

        schedule: {cron: "0 0 1 1 *", timezone: UTC, catchup: all, max_catchup: 5}
        """)
        let d = h.daemon(grace: 30)
        try d.start()
        defer { d.stop() }
        let store = try h.store()
        // first seen: anchored at this year's Jan 1 tick, nothing run
        let year = Calendar(identifier: .gregorian).component(.year, from: Date())
        #expect(h.finished.wait(timeout: 1) { !$0.isEmpty } == false)
        let anchor = try #require(try store.lastTick(pipeline: "demo"))
        #expect(anchor.runID == nil && iso(Date(timeIntervalSince1970: TimeInterval(anchor.tickTime))) == "\(year)-01-01T00:00:00Z")
        // now hourly, at a minute half an hour away from now (so no tick is due meanwhile): the
        // hours since Jan 1 are not "missed", the schedule starts from its last tick
        let now = Int64(Date().timeIntervalSince1970)
        let minute = (now / 60 % 60 + 30) % 60
        try h.tw.write(DaemonHarness.manifest + """

        schedule: {cron: "\(minute) * * * *", timezone: UTC, catchup: all, max_catchup: 5}
        """, to: "pipelines/demo.yaml")
        d.reload()
        var last = now / 3600 * 3600 + minute * 60
        if last > now { last -= 3600 }
        #expect(try eventuallyTrue { try store.lastTick(pipeline: "demo")?.tickTime == last })
        usleep(300_000)
        #expect(h.started.all.isEmpty)
    }
}

/// Polls `condition` every 20 ms for up to 10 s.
func eventuallyTrue(_ condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(10)
    while Date() < end {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}
