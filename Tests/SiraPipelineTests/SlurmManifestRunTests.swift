import Foundation
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import SiraStore
import Testing

/// The real pipeline (ingest, tokenizer, tokenize, base, train, evaluate, package) from a tiny
/// manifest, through the real Slurm and through the local executor, same seeds: the same stages
/// succeed and fail, with the same metrics. One task's data is unusable, so its ingest fails
/// (also on the retry): its chain, evaluation included, never runs on Slurm, and every other
/// task finishes.
@Suite(.serialized)
struct SlurmManifestRunTests {
    /// Two small tasks, an unusable one and a corpus; `executor: slurm` in the manifest.
    static func makeWorkspace(_ ws: HostileWorkspace) throws -> Manifest {
        func write(_ text: String, _ path: String) throws {
            let url = ws.url.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let words = ["stone", "apple", "river", "cloud", "green", "table", "mouse", "light", "paper", "glass", "water"]
        var add = ""
        for i in 0 ..< 31 { add += "{\"prompt\": \"\(i)+\(i % 7)=\", \"completion\": \"\(i + i % 7)\"}\n" }
        try write(add, "data/src/add.jsonl")
        var rev = "word\treversed\n"
        for w in words { rev += "reverse \(w)\t\(String(w.reversed()))\n" }
        try write(rev, "data/src/rev.tsv")
        // No row has a prompt and a completion: nothing usable, ingest fails every time.
        try write("{\"question\": 1}\nnot json at all\n[1, 2]\n", "data/src/bad.jsonl")
        var corpus = ""
        for i in 0 ..< 33 { corpus += "\(i)+\(i % 5)=\(i + i % 5)\nreverse \(words[i % words.count]) \(String(words[i % words.count].reversed()))\n\n" }
        try write(corpus, "data/src/corpus.txt")
        // Local stages get cores/jobs threads, Slurm jobs `cpus`: one each, so both compute alike.
        let jobs = ProcessInfo.processInfo.activeProcessorCount
        let path = "pipelines/tiny.yaml"
        try write("""
        name: tiny
        tasks:
          - {name: add, from: data/src/add.jsonl, eval_fraction: 0.2}
          - {name: rev, from: data/src/rev.tsv, columns: {prompt: word, completion: reversed}, eval_fraction: 0.2}
          - {name: bad, from: data/src/bad.jsonl}
          - {name: corpus, from: data/src/corpus.txt, adapt: false}
        tokenizer: {train: {vocab_size: 300, corpus: [corpus]}}
        base: {builtin: {layers: 1, hidden: 16, heads: 2, kv_heads: 1, pretrain_steps: 4, batch: 2, seq_len: 16, corpus: [corpus]}}
        adapters:
          lora: {r: 2}
          sira: {r: 2, num_experts: 3, top_k: 2}
        train: {steps: 6, batch: 2, seq_len: 16, warmup: 1, save_every: 2, seed: 7}
        evaluate: {max_new_tokens: 4, max_examples: 3}
        retries: 1
        jobs: \(jobs)
        executor:
          slurm: {cpus: 1, memory: 1G, time: "15:00", array_limit: 2}

        """, path)
        return try ManifestLoader.load(ws.url.appendingPathComponent(path), displayPath: path)
    }

    static func run(_ manifest: Manifest, in ws: Workspace, executor: StageExecutor, recorder: RunRecorder) throws -> RunSummary {
        let session = try WorkspaceSession(workspace: ws, recorder: recorder)
        defer { session.close() }
        return try session.run(manifest: manifest, planner: { try PipelinePlanner.plan($0, $1) }, options: RunOptions(heartbeatInterval: 0.5, backoff: 0.2, executor: executor), observer: nil)
    }

    /// Metrics that measure the machine (throughput, time) rather than the computation, and the
    /// size of a package, which embeds its creation time.
    static func comparable(_ metrics: [String: Double]) -> [String: Double] {
        metrics.filter { !$0.key.contains("per_second") && !$0.key.contains("seconds") && $0.key != "package.bytes" }
    }

    @Test func tinyManifestOnSlurmMatchesLocalAndABadTaskStopsOnlyItsOwnChain() throws {
        try SlurmTestCluster.requireRunning()
        let localWS = HostileWorkspace()
        let localManifest = try Self.makeWorkspace(localWS)
        let local = try Self.run(localManifest, in: localWS.workspace, executor: LocalExecutor(), recorder: MemoryRecorder())

        let ws = HostileWorkspace()
        let manifest = try Self.makeWorkspace(ws)
        #expect(manifest.executor == .slurm(SlurmSpec(partition: nil, account: nil, time: "15:00", memory: "1G", cpus: 1, arrayLimit: 2)))
        let recorder = try StoreRecorder(workspace: ws.workspace)
        var options = try slurmOptions(cpus: 1, arrayLimit: 2)
        options.spec = SlurmSpec(partition: nil, account: nil, time: "15:00", memory: "1G", cpus: 1, arrayLimit: 2)
        let slurm = try Self.run(manifest, in: ws.workspace, executor: SlurmExecutor(options: options), recorder: recorder)

        // Independent expectation from the graph: everything on the bad task's chain is
        // skipped after its ingest fails twice; everything else succeeds.
        let badIngest = StageID(.ingest, task: "bad")
        let badChain = Set(try StageGraph(manifest: manifest).dependants(of: badIngest))
        #expect(badChain.contains(StageID(.evaluate, task: "bad", variant: "sira")))
        #expect(badChain.contains(StageID(.evaluate, task: "bad", variant: StageID.baseVariant)))
        #expect(!badChain.contains { $0.task == "add" || $0.task == "rev" })
        for summary in [local, slurm] {
            #expect(summary.status == .failed)
            #expect(summary.stage(badIngest)?.status == .failed)
            #expect(summary.stage(badIngest)?.attempts == 2)
            for s in summary.stages where s.id != badIngest {
                let expected: StageStatus = badChain.contains(s.id) ? .skipped : .succeeded
                #expect(s.status == expected, "\(s.id): \(s.status) \(s.error ?? "")")
            }
        }
        // The same computation: every stage's metrics agree (training losses, evaluation scores,
        // router statistics, token counts).
        for stage in local.stages where stage.status == .succeeded {
            let remote = try #require(slurm.stage(stage.id))
            #expect(Self.comparable(remote.metrics) == Self.comparable(stage.metrics), "\(stage.id)")
            // Byte-identical outputs: tokenizer, token shards, base weights, adapter weights.
            if [.tokenizer, .tokenize, .base, .train].contains(stage.id.kind) {
                #expect(remote.output?.digest == stage.output?.digest, "\(stage.id) output differs")
            }
        }
        let evaluated = local.stages.filter { $0.id.kind == .evaluate && $0.status == .succeeded }
        #expect(evaluated.count == 6)
        #expect(evaluated.allSatisfy { $0.metrics["eval.loss"] != nil }, "\(evaluated.map(\.metrics))")

        // On Slurm: the bad task's evaluation never ran (no result file), its retry was a new
        // job, and nothing of the run is left in the queue. SQLite has every attempt.
        let folder = SlurmRunFolder(workspace: ws.workspace, runID: slurm.runID)
        let spec = try folder.loadSpec()
        for id in badChain {
            let n = try #require(spec.number(of: id.description))
            #expect(folder.result(stage: n, attempt: 1) == nil, "\(id) ran")
        }
        let rows = try recorder.store.stages(run: slurm.runID)
        let ingestRows = rows.filter { $0.stage == badIngest.description }.sorted { $0.attempt < $1.attempt }
        #expect(ingestRows.map(\.status) == [.failed, .failed])
        #expect(ingestRows.count == 2 && ingestRows[0].externalID != nil && ingestRows[0].externalID != ingestRows[1].externalID)
        #expect(rows.filter { $0.status == .succeeded }.allSatisfy { $0.executor == "slurm" && $0.externalID != nil })
        #expect(try recorder.store.run(slurm.runID)?.status == .failed)
        #expect(SlurmTestCluster.queued(ws.workspace, runID: slurm.runID).isEmpty)
        #expect(ws.pwned().isEmpty && localWS.pwned().isEmpty)
    }
}
