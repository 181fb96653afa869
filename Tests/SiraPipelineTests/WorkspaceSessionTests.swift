import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import SiraStore

@Suite struct WorkspaceSessionTests {
    @Test func aSecondSchedulerIsRefusedWithTheHolderNamed() throws {
        let tw = TempWorkspace()
        let first = try WorkspaceSession(workspace: tw.workspace, recorder: MemoryRecorder(), command: "run demo.yaml")
        do {
            _ = try WorkspaceSession(workspace: tw.workspace, recorder: MemoryRecorder())
            Issue.record("a second session must be refused")
        } catch let busy as WorkspaceBusy {
            #expect(busy.holder?.pid == getpid())
            #expect(busy.holder?.command == "run demo.yaml")
            #expect(busy.description.contains("is in use by another sira-pipeline scheduler: pid \(getpid()) on \(WorkspaceLock.hostName) since"))
        }
        first.close()
        // Released: the next one gets it.
        let again = try WorkspaceSession(workspace: tw.workspace, recorder: MemoryRecorder())
        #expect(again.lockHolder.pid == getpid())
    }

    @Test func runsLeftRunningAreMarkedCrashedAtStartUp() throws {
        let tw = TempWorkspace()
        let recorder = MemoryRecorder()
        let dead = try recorder.createRun(pipeline: "p", manifestHash: "h", trigger: "manual")
        let session = try WorkspaceSession(workspace: tw.workspace, recorder: recorder)
        #expect(session.crashedRuns == [dead])
        #expect(recorder.runs[0].status == .crashed)
        #expect(recorder.events == ["warning: marked crashed: its process died while it was running"])
    }

    @Test func halfBuiltTemporaryOutputsAreRemovedAtStartUp() throws {
        let tw = TempWorkspace()
        let train = tw.workspace.stageCacheFolder(.train)
        let tmp = train.appendingPathComponent(".abc.tmp-123-456")
        let work = train.appendingPathComponent("abc.work")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        _ = try WorkspaceSession(workspace: tw.workspace, recorder: MemoryRecorder())
        #expect(!FileManager.default.fileExists(atPath: tmp.path))
        #expect(FileManager.default.fileExists(atPath: work.path)) // resumable state is kept
    }
}

@Suite struct StageGraphTests {
    @Test func manifestExpandsPerTaskAndVariant() throws {
        let m = try ManifestLoader.parse(yaml: fullManifest, file: "full.yaml")
        let g = try StageGraph(manifest: m)
        let ids = Set(g.stages.map(\.id.description))
        var expected: Set<String> = ["tokenizer", "base", "train:multitask", "package:multitask", "merge", "package:bundle"]
        for t in ["sentiment", "dates", "corpus"] { expected.formUnion(["ingest@\(t)", "tokenize@\(t)"]) }
        for t in ["sentiment", "dates"] {
            expected.insert("evaluate@\(t):base")
            for v in ["lora", "sira", "sira-e16"] { expected.formUnion(["train@\(t):\(v)", "evaluate@\(t):\(v)", "package@\(t):\(v)"]) }
            expected.insert("evaluate@\(t):multitask")
        }
        #expect(ids == expected)
        // Topological: each stage after its dependencies.
        var seen: Set<StageID> = []
        for n in g.stages {
            #expect(n.dependencies.allSatisfy { seen.contains($0) })
            seen.insert(n.id)
        }
        // The tokenizer trains on its corpus only, so sentiment's data reaches its own stages,
        // the multitask ones and the base (whose corpus is every task), not the tokenizer.
        #expect(g.node(StageID(.tokenizer))?.dependencies == [StageID(.ingest, task: "corpus")])
        let reach = g.dependants(of: StageID(.ingest, task: "sentiment")).map(\.description)
        #expect(!reach.contains("tokenizer"))
        #expect(reach.contains("base") && reach.contains("train:multitask") && reach.contains("evaluate@dates:lora"))
    }

    @Test func aTaskOutsideTheCorporaReachesOnlyItsOwnAndMultitaskStages() throws {
        let yaml = """
        name: p
        tasks: [{from: a.jsonl}, {from: b.jsonl}, {from: corpus.txt, adapt: false}]
        tokenizer: {train: {corpus: corpus}}
        base: {builtin: {corpus: corpus}}
        adapters: {lora: , multitask: {from: lora}}
        """
        let g = try StageGraph(manifest: try ManifestLoader.parse(yaml: yaml, file: "p.yaml"))
        let reach = Set(g.dependants(of: StageID(.ingest, task: "a")).map(\.description))
        #expect(reach == ["tokenize@a", "train@a:lora", "evaluate@a:lora", "package@a:lora", "evaluate@a:base",
                          "train:multitask", "evaluate@a:multitask", "evaluate@b:multitask", "package:multitask",
                          "merge", "package:bundle"])
        // ... + merge and the bundle.
        #expect(g.stages.count == 3 + 1 + 3 + 1 + 2 + 1 + 2 * 3 + 2 + 1 + 2)
    }

    @Test func stageIDsRoundTrip() {
        for text in ["tokenizer", "ingest@dates", "train@dates:sira-e16", "train:multitask", "evaluate@a.b:base"] {
            #expect(StageID(parsing: text)?.description == text)
        }
        #expect(StageID(parsing: "bake@x") == nil)
        #expect(StageID(parsing: "train@:x") == nil)
    }
}

@Suite struct StoreRecorderTests {
    @Test func runsAreRecordedInSQLite() throws {
        let tw = TempWorkspace()
        let log = RunLog()
        let recorder = try StoreRecorder(workspace: tw.workspace)
        var stages = diamond(log)
        stages[3].failures = 1 // tokenize@c fails once
        let s1 = try runSynthetic(stages, in: tw, recorder: recorder, retries: 1)
        #expect(s1.status == .succeeded)
        let store = recorder.store
        let run1 = try #require(try store.run(s1.runID))
        #expect(run1.status == .succeeded && run1.pipeline == "synthetic" && run1.pid == getpid())
        let rows = try store.stages(run: s1.runID)
        #expect(rows.count == 6)
        let c = rows.filter { $0.stage == "tokenize@c" }
        #expect(c.map(\.status) == [.failed, .succeeded] && c.map(\.attempt) == [1, 2])
        #expect(c.allSatisfy { $0.cacheKey == s1.stage(StageID(.tokenize, task: "c"))?.key })
        #expect(rows.first { $0.stage == "train@d:lora" }?.logPath == "data/logs/\(s1.runID)/train@d:lora.1.log")
        let metrics = try store.metrics(run: s1.runID).filter { $0.key == "len" }
        #expect(metrics.count == 5)
        let dLen = s1.stage(StageID(.train, task: "d", variant: "lora"))?.metrics["len"]
        let dPoint = metrics.first { $0.task == "d" && $0.variant == "lora" }
        #expect(dPoint?.value == dLen)
        #expect(try store.artifacts(run: s1.runID).count == 5)

        let s2 = try runSynthetic(diamond(log), in: tw, recorder: recorder)
        #expect(try store.stages(run: s2.runID).allSatisfy { $0.status == .cached })
        // Cached stages still carry their metrics into the new run.
        #expect(try store.metrics(run: s2.runID).filter { $0.key == "len" }.count == 5)
        #expect(try store.integrityCheck() == ["ok"])
    }

    @Test func aDeadRunIsMarkedCrashedByTheNextScheduler() throws {
        let tw = TempWorkspace()
        let recorder = try StoreRecorder(workspace: tw.workspace)
        // A run left `running` with a fresh heartbeat: only the lock proves its process is gone.
        let dead = try recorder.store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running)
        let session = try WorkspaceSession(workspace: tw.workspace, recorder: recorder)
        #expect(session.crashedRuns == [dead])
        #expect(try recorder.store.run(dead)?.status == .crashed)
    }
}
