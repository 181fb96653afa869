import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import SiraStore

/// a → b, a → c, (b, c) → d; e independent.
func diamond(_ log: RunLog, params: [String: String] = [:], source: String? = nil) -> [SyntheticStage] {
    let a = StageID(.ingest, task: "a"), b = StageID(.tokenize, task: "b"), c = StageID(.tokenize, task: "c")
    let d = StageID(.train, task: "d", variant: "lora"), e = StageID(.ingest, task: "e")
    func p(_ id: StageID) -> String { params[id.description] ?? id.description }
    return [
        SyntheticStage(id: d, dependencies: [b, c], param: p(d), log: log),
        SyntheticStage(id: a, dependencies: [], param: p(a), log: log, sourceFile: source),
        SyntheticStage(id: b, dependencies: [a], param: p(b), log: log),
        SyntheticStage(id: c, dependencies: [a], param: p(c), log: log),
        SyntheticStage(id: e, dependencies: [], param: p(e), log: log),
    ]
}

@Suite struct SchedulerTests {
    @Test func runsInDependencyOrderPublishesOutputsAndCachesTheSecondRun() throws {
        let tw = TempWorkspace()
        try tw.write("v1", to: "src/a.txt")
        let log = RunLog()
        let recorder = MemoryRecorder()
        let first = try runSynthetic(diamond(log, source: "src/a.txt"), in: tw, recorder: recorder)
        #expect(first.status == .succeeded)
        #expect(first.stages.allSatisfy { $0.status == .succeeded })
        let order = log.order
        #expect(order.firstIndex(of: "ingest@a")! < order.firstIndex(of: "tokenize@b")!)
        #expect(order.firstIndex(of: "tokenize@c")! < order.firstIndex(of: "train@d:lora")!)
        // d's output is predictable from the definition alone.
        let d = try #require(first.stage(StageID(.train, task: "d", variant: "lora"))?.output)
        let aText = "ingest@a|src=v1"
        #expect(try String(contentsOf: d.url("out.txt"), encoding: .utf8) == "train@d:lora|tokenize@b|\(aText)|tokenize@c|\(aText)")
        #expect(d.folder.path == tw.workspace.cacheFolder.appendingPathComponent("train/\(d.key)").path)
        #expect(d.metrics["len"] == Double("train@d:lora|tokenize@b|\(aText)|tokenize@c|\(aText)".count))
        // Outputs are recorded as artifacts with their content hash.
        #expect(recorder.artifacts.contains { $0.path == "data/cache/train/\(d.key)/out.txt" && $0.kind == "train" })

        let second = try runSynthetic(diamond(log, source: "src/a.txt"), in: tw, recorder: recorder)
        #expect(second.status == .succeeded)
        #expect(second.stages.allSatisfy { $0.status == .cached })
        #expect(log.total == 5)
        #expect(second.stage(StageID(.train, task: "d", variant: "lora"))?.metrics["len"] == d.metrics["len"])
        #expect(recorder.runs.map(\.status) == [.succeeded, .succeeded])
        #expect(recorder.stages.filter { $0.run == 2 }.allSatisfy { $0.status == .cached && $0.cacheKey != nil })
    }

    @Test func changingOneInputRerunsOnlyItsDependants() throws {
        let tw = TempWorkspace()
        try tw.write("v1", to: "src/a.txt")
        let log = RunLog()
        _ = try runSynthetic(diamond(log, source: "src/a.txt"), in: tw)
        #expect(log.total == 5)
        // A parameter change of c reruns c and d only.
        let s2 = try runSynthetic(diamond(log, params: ["tokenize@c": "c2"], source: "src/a.txt"), in: tw)
        #expect(s2.stages.filter { $0.status == .succeeded }.map(\.id.description).sorted() == ["tokenize@c", "train@d:lora"])
        #expect(log.count("tokenize@c") == 2 && log.count("tokenize@b") == 1 && log.count("ingest@e") == 1)
        // Changing the source file of a reruns a and everything below it, but not e.
        try tw.write("v2", to: "src/a.txt")
        let s3 = try runSynthetic(diamond(log, params: ["tokenize@c": "c2"], source: "src/a.txt"), in: tw)
        #expect(s3.stages.filter { $0.status == .cached }.map(\.id.description) == ["ingest@e"])
        #expect(log.count("ingest@a") == 2 && log.count("train@d:lora") == 3)
    }

    @Test func identicalOutputsKeepDependantsCached() throws {
        // b's key changes (new parameter) but an identical output digest keeps d cached.
        let tw = TempWorkspace()
        let log = RunLog()
        let a = StageID(.ingest, task: "a"), d = StageID(.train, task: "a", variant: "lora")
        struct Constant: PipelineStage {
            var id: StageID
            var dependencies: [StageID] = []
            var version: String
            func parameters() throws -> String { version }
            func run(_ context: StageContext) throws -> StageResult {
                try "same".write(to: context.outputFolder.appendingPathComponent("out.txt"), atomically: true, encoding: .utf8)
                return StageResult()
            }
        }
        _ = try runSynthetic([Constant(id: a, version: "1"), SyntheticStage(id: d, dependencies: [a], param: "d", log: log)], in: tw)
        let s = try runSynthetic([Constant(id: a, version: "2"), SyntheticStage(id: d, dependencies: [a], param: "d", log: log)], in: tw)
        #expect(s.stage(a)?.status == .succeeded)
        #expect(s.stage(d)?.status == .cached)
        #expect(log.count(d.description) == 1)
    }

    @Test func retriesWithExponentialBackoffThenSucceeds() throws {
        let tw = TempWorkspace()
        let log = RunLog()
        let recorder = MemoryRecorder()
        let events = EventLog()
        let a = StageID(.ingest, task: "a")
        let flaky = SyntheticStage(id: a, dependencies: [], param: "a", log: log, failures: 2)
        let start = Date()
        let s = try runSynthetic([flaky], in: tw, recorder: recorder, retries: 3, backoff: 0.1, observer: events)
        let elapsed = Date().timeIntervalSince(start)
        #expect(s.status == .succeeded)
        #expect(s.stage(a)?.attempts == 3)
        // Backoff 0.1 s then 0.2 s.
        #expect(events.retries.map(\.2) == [0.1, 0.2])
        #expect(elapsed >= 0.3)
        #expect(recorder.stages.map(\.status) == [.failed, .failed, .succeeded])
        #expect(recorder.stages.map(\.record.attempt) == [1, 2, 3])
        #expect(recorder.stages[0].error == "ingest@a fails attempt 1")
        #expect(SchedulerOptions(backoff: 2, maxBackoff: 5).delay(beforeAttempt: 5) == 5)
    }

    @Test func aFailureStopsOnlyItsDependants() throws {
        let tw = TempWorkspace()
        let log = RunLog()
        let recorder = MemoryRecorder()
        var stages = diamond(log)
        stages[2].failAlways = true // tokenize@b
        let s = try runSynthetic(stages, in: tw, recorder: recorder, retries: 1)
        #expect(s.status == .failed)
        #expect(s.stage(StageID(.tokenize, task: "b"))?.status == .failed)
        #expect(s.stage(StageID(.tokenize, task: "b"))?.attempts == 2)
        #expect(s.stage(StageID(.train, task: "d", variant: "lora"))?.status == .skipped)
        #expect(s.stage(StageID(.tokenize, task: "c"))?.status == .succeeded)
        #expect(s.stage(StageID(.ingest, task: "e"))?.status == .succeeded)
        #expect(log.count("train@d:lora") == 0)
        #expect(s.error == "tokenize@b: tokenize@b always fails")
        #expect(recorder.stages.contains { $0.record.stage.description == "train@d:lora" && $0.status == .skipped && $0.error == "tokenize@b failed" })
        #expect(recorder.runs.last?.status == .failed)
    }

    @Test func jobsBoundTheParallelism() throws {
        for jobs in [1, 2, 3] {
            let tw = TempWorkspace()
            let log = RunLog()
            let stages = (0 ..< 7).map { i in
                SyntheticStage(id: StageID(.ingest, task: "t\(i)"), dependencies: [], param: "p\(i)", log: log, sleep: 0.05)
            }
            let s = try runSynthetic(stages, in: tw, jobs: jobs)
            #expect(s.status == .succeeded)
            #expect(log.peak == jobs)
        }
    }

    @Test func stagesWithTheSameKeyRunOnceEvenInParallel() throws {
        let tw = TempWorkspace()
        let log = RunLog()
        let stages = (0 ..< 4).map { i in
            SyntheticStage(id: StageID(.ingest, task: "t\(i)"), dependencies: [], param: "same", log: log, sleep: 0.05)
        }
        let s = try runSynthetic(stages, in: tw, jobs: 4)
        #expect(s.status == .succeeded)
        #expect(log.total == 1)
        #expect(s.count(.succeeded) == 1 && s.count(.cached) == 3)
    }

    @Test func cancellationStopsCleanlyAndTheNextRunResumes() throws {
        let tw = TempWorkspace()
        let log = RunLog()
        let recorder = MemoryRecorder()
        let a = StageID(.ingest, task: "a"), t = StageID(.train, task: "a", variant: "lora"), p = StageID(.package, task: "a", variant: "lora")
        let sessionBox = Box<WorkspaceSession>()
        let events = EventLog()
        events.onEvent = { event in
            if case let .progress(pr) = event, pr.step == 20 { sessionBox.value?.cancel() }
        }
        func stages() -> [any PipelineStage] {
            [SyntheticStage(id: a, dependencies: [], param: "a", log: log),
             SyntheticStage(id: t, dependencies: [a], param: "t", log: log, loopUntilCancelled: true, steps: 60),
             SyntheticStage(id: p, dependencies: [t], param: "p", log: log)]
        }
        let session = try WorkspaceSession(workspace: tw.workspace, recorder: recorder)
        sessionBox.value = session
        let s = try session.run(stages: stages(), pipeline: "x", manifestHash: "h", jobs: 1, retries: 2,
                                options: RunOptions(heartbeatInterval: 0.05), observer: events)
        #expect(s.status == .cancelled)
        #expect(s.stage(a)?.status == .succeeded)
        #expect(s.stage(t)?.status == .cancelled)
        #expect(s.stage(t)?.attempts == 1) // a cancelled stage is not retried
        #expect(s.stage(p)?.status == .cancelled)
        let key = try #require(s.stage(t)?.key)
        let state = tw.workspace.stageCacheFolder(.train).appendingPathComponent("\(key).work/step")
        #expect(try String(contentsOf: state, encoding: .utf8) == "20")
        #expect(recorder.runs.last?.status == .cancelled)
        sessionBox.value = nil
        session.close()

        // A new session resumes from step 20: the stage does the remaining 40 steps only.
        let progressSteps = EventLog()
        let s2 = try runSynthetic(stages(), in: tw, recorder: recorder, observer: progressSteps)
        #expect(s2.status == .succeeded)
        let steps = progressSteps.events.compactMap { if case let .progress(p) = $0 { return p.step } else { return nil } }
        #expect(steps.first == 21 && steps.last == 60 && steps.count == 40)
        #expect(s2.stage(a)?.status == .cached)
        #expect(!FileManager.default.fileExists(atPath: state.path))
        #expect(try String(contentsOf: s2.stage(t)!.output!.url("steps"), encoding: .utf8) == "60")
    }

    @Test func aFailedAttemptPublishesNothing() throws {
        let tw = TempWorkspace()
        let log = RunLog()
        let a = StageID(.ingest, task: "a")
        var stage = SyntheticStage(id: a, dependencies: [], param: "a", log: log, failAlways: true)
        stage.onRun = { ctx in try? "partial".write(to: ctx.outputFolder.appendingPathComponent("out.txt"), atomically: true, encoding: .utf8) }
        let s = try runSynthetic([stage], in: tw)
        #expect(s.stage(a)?.status == .failed)
        let folder = tw.workspace.stageCacheFolder(.ingest)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        // Nothing remains: no published key folder, no temporary folder, and the work folder the
        // stage left empty is gone too.
        #expect(names == [])
    }

    @Test func aFailedAttemptKeepsItsResumableState() throws {
        let tw = TempWorkspace()
        let a = StageID(.ingest, task: "a")
        var stage = SyntheticStage(id: a, dependencies: [], param: "a", log: RunLog(), failAlways: true)
        stage.onRun = { ctx in try? "step 7".write(to: ctx.workFolder.appendingPathComponent("state"), atomically: true, encoding: .utf8) }
        let s = try runSynthetic([stage], in: tw)
        #expect(s.stage(a)?.status == .failed)
        let work = tw.workspace.stageCacheFolder(.ingest).appendingPathComponent("\(s.stage(a)!.key!).work")
        #expect(try String(contentsOf: work.appendingPathComponent("state"), encoding: .utf8) == "step 7")
    }

    @Test func aDamagedCachedOutputIsRebuilt() throws {
        let tw = TempWorkspace()
        let log = RunLog()
        let stages = diamond(log)
        let s1 = try runSynthetic(stages, in: tw)
        let b = try #require(s1.stage(StageID(.tokenize, task: "b"))?.output)
        try "x".write(to: b.url("out.txt"), atomically: true, encoding: .utf8)
        let s2 = try runSynthetic(stages, in: tw)
        #expect(s2.stage(StageID(.tokenize, task: "b"))?.status == .succeeded)
        #expect(s2.stage(StageID(.train, task: "d", variant: "lora"))?.status == .cached)
        #expect(log.count("tokenize@b") == 2 && log.total == 6)
    }

    @Test func heartbeatsWhileStagesRun() throws {
        let tw = TempWorkspace()
        let recorder = MemoryRecorder()
        let log = RunLog()
        _ = try runSynthetic([SyntheticStage(id: StageID(.base), dependencies: [], param: "b", log: log, sleep: 0.4)], in: tw, recorder: recorder)
        #expect(recorder.runs[0].heartbeats >= 3)
    }

    @Test func cyclesAndMissingDependenciesAreRejected() throws {
        let log = RunLog()
        let a = StageID(.ingest, task: "a"), b = StageID(.tokenize, task: "a")
        let tw = TempWorkspace()
        #expect(throws: StageGraphError.cycle([a, b])) {
            try runSynthetic([SyntheticStage(id: a, dependencies: [b], param: "", log: log),
                              SyntheticStage(id: b, dependencies: [a], param: "", log: log)], in: tw)
        }
        #expect(throws: StageGraphError.missingDependency(a, b)) {
            try runSynthetic([SyntheticStage(id: a, dependencies: [b], param: "", log: log)], in: tw)
        }
    }
}

final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: T?
    var value: T? {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
}
