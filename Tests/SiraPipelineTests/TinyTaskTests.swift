import Foundation
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages

/// Issue 16, item 8: a task too small to hold out an eval example (three records) no longer fails
/// the whole run at `merge`: its adapter is trained, the verdict says it could not be evaluated,
/// and the other tasks' winners still reach the bundle.
@Suite struct TinyTaskTests {
    @Test func aTaskWithAnEmptyEvalSplitIsLeftOutOfTheBundleAndTheRunSucceeds() throws {
        let p = try TinyPipeline.small()
        try p.tw.write("""
        {"prompt": "a", "completion": "b"}
        {"prompt": "c", "completion": "d"}
        {"prompt": "e", "completion": "f"}

        """, to: "data/src/drops.jsonl")
        try p.tw.write("""
        name: tiny
        tasks:
          - {name: add, from: data/src/add.jsonl, eval_fraction: 0.2}
          - {name: drops, from: data/src/drops.jsonl, eval_fraction: 0.05}
          - {name: corpus, from: data/src/corpus.txt, adapt: false}
        tokenizer: {train: {vocab_size: 300, corpus: [corpus]}}
        base: {builtin: {layers: 1, hidden: 16, heads: 2, kv_heads: 1, pretrain_steps: 2, batch: 2, seq_len: 16, corpus: [corpus]}}
        adapters:
          lora: {r: 2}
        train: {steps: 2, batch: 2, seq_len: 16, warmup: 1, save_every: 2}
        evaluate: {max_new_tokens: 3, max_examples: 2}
        retries: 0

        """, to: p.manifestPath)
        let run = try p.run()
        let store = try p.store()
        let runID = try #require(try store.runs().first).id
        let ingest = try p.output("ingest@drops", run: runID, store: store)
        let (_, snapshot) = try SnapshotReference.load(ingest, workspace: p.workspace)
        try #require(snapshot.stats.eval == 0 && snapshot.stats.train == 3, "the fixture needs an empty eval split")

        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("drops: no adapter could be evaluated (its eval split is empty"), "\(run.stdout)")
        let index = try #require(try CheckpointIndex.latest(workspace: p.workspace, pipeline: "tiny"))
        let file = try #require(index.packages.first { $0.stage == "package:bundle" }?.file)
        let opened = try OpenedPackage(p.workspace.resolve(file), scratch: p.tw.url)
        defer { opened.close() }
        #expect(try opened.adapterName(task: "add") == "add.lora")
        #expect(throws: (any Error).self) { try opened.adapterName(task: "drops") }
    }
}
