import Foundation
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// A real daemon process (`WatchTestHost`) killed with -9 in the middle of a run, then started
/// again: the run is marked crashed and resumed from the stage's saved state.
@Suite struct WatchCrashTests {
    static var hostBinary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("WatchTestHost")
    }

    func launch(_ tw: TempWorkspace, steps: Int, log: URL) throws -> Process {
        let p = Process()
        p.executableURL = Self.hostBinary
        p.arguments = [tw.url.path, String(steps)]
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Polls `condition` every 20 ms for up to `timeout` seconds.
    func eventually(_ timeout: TimeInterval = 15, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    func savedStep(_ tw: TempWorkspace) -> Int {
        let file = FileManager.default.enumerator(at: tw.workspace.cacheFolder, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.first { $0.lastPathComponent == "step" }
        return file.flatMap { try? String(contentsOf: $0, encoding: .utf8) }.flatMap { Int($0) } ?? 0
    }

    @Test func killedDaemonLeavesACrashedRunThatTheNextStartResumes() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.hostBinary.path), "build the WatchTestHost target first")
        let tw = TempWorkspace("watch-crash")
        try tw.write(DaemonHarness.manifest, to: "pipelines/demo.yaml")
        try tw.write("{\"text\": \"x\"}\n", to: "data/inbox/sentiment-1.jsonl")
        let logs = tw.url.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)

        let first = try launch(tw, steps: 1_000_000, log: logs.appendingPathComponent("first.log"))
        #expect(eventually { savedStep(tw) >= 5 })
        let store = try RunStore(path: tw.workspace.databaseURL.path)
        let crashedRun = try #require(try store.runs(RunFilter(pipeline: "demo")).first)
        #expect(crashedRun.status == .running)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal && first.terminationStatus == SIGKILL)
        // nobody has touched the record yet: it still claims to be running
        #expect(try store.run(crashedRun.id)?.status == .running)
        let saved = savedStep(tw)

        let second = try launch(tw, steps: saved + 10, log: logs.appendingPathComponent("second.log"))
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        #expect(try eventually { try store.runs(RunFilter(pipeline: "demo")).first?.status == .succeeded })
        let after = try store.runs(RunFilter(pipeline: "demo"))
        #expect(after.count == 2)
        let old = try #require(try store.run(crashedRun.id))
        #expect(old.status == .crashed)
        let resumed = try #require(after.first)
        #expect(resumed.trigger == "resume")
        #expect(try store.params(run: resumed.id).first { $0.key == "resume.of" }?.value == String(crashedRun.id))
        // the resumed stage continued from the saved count, not from zero
        let steps = try store.metricSeries(run: resumed.id, key: "train.loss").compactMap(\.step)
        #expect(steps.first == saved + 1 && steps.last == saved + 10)

        // SIGTERM: a clean stop with status 0
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        #expect(second.terminationReason == .exit && second.terminationStatus == 0)
        #expect(DaemonStatus.read(tw.workspace)?.state == .stopped)
    }

    @Test func sigtermMidRunStopsAtASavedStateMarksTheRunAndExitsZero() throws {
        let tw = TempWorkspace("watch-term")
        try tw.write(DaemonHarness.manifest, to: "pipelines/demo.yaml")
        try tw.write("{\"text\": \"x\"}\n", to: "data/inbox/sentiment-1.jsonl")
        let log = tw.url.appendingPathComponent("host.log")
        let p = try launch(tw, steps: 1_000_000, log: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        #expect(eventually { savedStep(tw) >= 3 })
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        let store = try RunStore(path: tw.workspace.databaseURL.path)
        let run = try #require(try store.runs(RunFilter(pipeline: "demo")).first)
        #expect(run.status == .cancelled)
        #expect(savedStep(tw) >= 3)
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("\"message\":\"stopped\""))
    }
}
