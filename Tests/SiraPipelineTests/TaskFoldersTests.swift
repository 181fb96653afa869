import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// `from: "data/inbox/{task}/*.jsonl"`: one task per folder, named by it, found at plan time.
@Suite struct TaskFoldersTests {
    let yaml = """
    name: inbox
    tasks:
      - from: "data/inbox/{task}/*.jsonl"
      - name: notes
        from: data/notes.txt
        adapt: false
    tokenizer: {train: {vocab_size: 300, corpus: [notes]}}
    base: {builtin: {layers: 1, hidden: 32, heads: 2, kv_heads: 1, pretrain_steps: 0}}
    adapters:
      lora: {r: 2}
    train: {steps: 2, batch: 2, seq_len: 16, warmup: 1}
    """

    @Test func eachFolderIsATaskNamedByIt() throws {
        let tw = TempWorkspace("folders")
        let manifest = try ManifestLoader.parse(yaml: yaml, file: "pipelines/inbox.yaml")
        #expect(manifest.tasks.map(\.name) == [TaskFolders.placeholder, "notes"])
        #expect(TaskFolders.expand(manifest, in: tw.workspace).tasks.map(\.name) == ["notes"])
        // No folder yet: planning says what to do.
        #expect(throws: StageFailure.self) { try PipelinePlanner.plan(manifest, tw.workspace) }

        try tw.write("{\"prompt\": \"a\", \"completion\": \"b\"}\n", to: "data/inbox/reviews/one.jsonl")
        try tw.write("{\"prompt\": \"c\", \"completion\": \"d\"}\n", to: "data/inbox/dates/x.jsonl")
        try FileManager.default.createDirectory(at: tw.url.appendingPathComponent("data/inbox/.hidden"), withIntermediateDirectories: true)
        try tw.write("x", to: "data/inbox/loose.jsonl")  // a file, not a folder: no task
        let expanded = TaskFolders.expand(manifest, in: tw.workspace)
        #expect(expanded.tasks.map(\.name) == ["dates", "reviews", "notes"])
        #expect(expanded.task(named: "reviews")?.from == "data/inbox/reviews/*.jsonl")
        #expect(expanded.task(named: "reviews")?.format == .jsonl)
        #expect(TaskSources.files(expanded.task(named: "dates")!, workspace: tw.workspace).map(\.lastPathComponent) == ["x.jsonl"])

        let ids = Set(try PipelinePlanner.plan(manifest, tw.workspace).map { $0.id.description })
        #expect(ids.contains("train@reviews:lora") && ids.contains("train@dates:lora") && !ids.contains("train@notes:lora"))
    }

    @Test func theInboxRoutesAFileToItsFoldersTask() throws {
        let tw = TempWorkspace("folders")
        let manifest = try ManifestLoader.parse(yaml: yaml, file: "pipelines/inbox.yaml")
        let loaded = [LoadedManifest(file: tw.url.appendingPathComponent("pipelines/inbox.yaml"), manifest: manifest)]
        let path = tw.url.appendingPathComponent("data/inbox/reviews/new.jsonl").path
        #expect(InboxRouter.routes(of: path, manifests: loaded, workspace: tw.workspace) == [InboxRouter.Route(pipeline: "inbox", task: "reviews")])
        let deeper = tw.url.appendingPathComponent("data/inbox/reviews/sub/new.jsonl").path
        #expect(InboxRouter.routes(of: deeper, manifests: loaded, workspace: tw.workspace).isEmpty)
    }

    @Test func templatesAreCheckedWhereTheManifestSaysThem() {
        let bad = yaml.replacingOccurrences(of: "data/inbox/{task}/*.jsonl", with: "data/inbox/x{task}/*.jsonl")
        #expect(manifestErrors(bad).contains { $0.keyPath == "tasks[0].from" && $0.problem.contains("whole path component") })
        let named = yaml.replacingOccurrences(of: "  - from: \"data/inbox/{task}/*.jsonl\"", with: "  - from: \"data/inbox/{task}/*.jsonl\"\n    name: r")
        #expect(manifestErrors(named).contains { $0.keyPath == "tasks[0].name" && $0.problem.contains("named by its folders") })
        let globbed = yaml.replacingOccurrences(of: "data/inbox/{task}/*.jsonl", with: "data/*/{task}/*.jsonl")
        #expect(manifestErrors(globbed).contains { $0.keyPath == "tasks[0].from" })
    }
}
