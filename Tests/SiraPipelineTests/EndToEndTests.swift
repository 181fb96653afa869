import Foundation
import SiraIO
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// The product as people use it: the `sira-pipeline` binary on a tiny manifest, in child processes.
@Suite(.serialized) struct EndToEndTests {
    func stages(_ store: RunStore, run: Int64) throws -> [String: StageStatus] {
        var out: [String: StageStatus] = [:]
        for s in try store.stages(run: run) { out[s.stage] = s.status }
        return out
    }

    /// The highest training step a plain progress line (`train@add:lora 61/300  loss ...`) shows.
    static func step(of stage: String, in output: String) -> Int {
        var best = 0
        for line in output.split(separator: "\n") {
            guard let r = line.range(of: stage + " ") else { continue }
            let rest = line[r.upperBound...]
            if let slash = rest.firstIndex(of: "/"), let n = Int(rest[..<slash]) { best = max(best, n) }
        }
        return best
    }

    @Test func runsEndToEndThenCachedThenRerunsOnlyTheChangedTask() throws {
        let p = try TinyPipeline()
        let first = try p.run()
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        let store = try RunStore(path: p.workspace.databaseURL.path)
        let run1 = try #require(try store.runs().last)
        #expect(run1.status == .succeeded && run1.pipeline == "tiny")
        let s1 = try stages(store, run: run1.id)
        // 3 ingest, tokenizer, 3 tokenize, base, 2×2 + 1 train, 2×4 evaluate, merge, 2×2 + 1 + bundle package.
        #expect(s1.count == 3 + 1 + 3 + 1 + 5 + 8 + 1 + 6)
        #expect(s1.values.allSatisfy { $0 == .succeeded })
        // Evaluation metrics per task and variant are recorded, and the summary table shows them.
        let exact = try store.metrics(run: run1.id).filter { $0.key == "eval.exact_match" }
        #expect(Set(exact.map { "\($0.task!):\($0.variant!)" }) == ["add:base", "add:lora", "add:sira", "add:multitask",
                                                                   "rev:base", "rev:lora", "rev:sira", "rev:multitask"])
        #expect(try store.metrics(run: run1.id).filter { $0.key == "eval.loss" }.allSatisfy { $0.value.isFinite && $0.value > 0 })
        #expect(first.stdout.contains("exact match"))
        // The packages are published and verify; `tar --zstd` would open them (SiraStore's check).
        let index = try #require(try CheckpointIndex.latest(workspace: p.workspace, pipeline: "tiny"))
        #expect(index.run == run1.id)
        #expect(Set(index.packages.map(\.stage)) == ["package@add:lora", "package@add:sira", "package@rev:lora", "package@rev:sira", "package:multitask",
                                                      "package:bundle"])
        for entry in index.packages {
            let contents = try SiraPackage.verify(p.workspace.resolve(entry.file))
            #expect(contents.manifest.pipeline == "tiny")
        }
        // The bundle serves each task's winner; read back from it, every adapter scores exactly
        // what the run recorded. The end-of-run table names the winners.
        let served = try p.expectBundleReproducesEvaluation(run: run1.id, store: store, maxExamples: 3, maxNewTokens: 4)
        #expect(served.keys.sorted() == ["add", "rev"])
        #expect(first.stdout.contains("vs winner") && first.stdout.contains("★ "))
        // The verdict decides on exact match, unless no adapter got any right (then it says so).
        let addExact = exact.filter { $0.task == "add" && $0.variant != "base" }.map(\.value)
        #expect(first.stdout.contains(addExact.allSatisfy { $0 == 0 } ? "add: no adapter learned the task" : "add: "),
                "\(first.stdout)")
        #expect(first.stdout.contains(" wins on exact match") || first.stdout.contains("no adapter learned the task"))
        // SiRA's routing on the eval split is recorded per layer.
        let evalRouting = try store.metrics(run: run1.id).filter { $0.task == "add" && $0.variant == "sira" && $0.key.hasPrefix("eval.router.L0.load.e") }
        #expect(evalRouting.count == 3 && abs(evalRouting.reduce(0) { $0 + $1.value } - 1) < 1e-9)
        // Training loss series were recorded per step.
        let loss = try store.metricSeries(run: run1.id, key: "train.loss", task: "add", variant: "lora")
        #expect(loss.compactMap(\.step) == Array(1 ... 6))

        // Second run: nothing changed, everything cached.
        let second = try p.run()
        #expect(second.status == 0)
        let run2 = try #require(try store.runs().first)
        #expect(run2.id == run1.id + 1)
        #expect(try stages(store, run: run2.id).values.allSatisfy { $0 == .cached })
        #expect(try store.metrics(run: run2.id).filter { $0.key == "eval.exact_match" }.count == 8)

        // One task's data changes (every completion, so both of its splits change): that task, the
        // multitask adapter and what follows them rerun; the other task's stages are cached.
        var changed = ""
        for i in 0 ..< 30 { changed += "{\"prompt\": \"\(i)+\(i % 7)=\", \"completion\": \"\(i + i % 7 + 100)\"}\n" }
        try p.tw.write(changed, to: "data/src/add.jsonl")
        let third = try p.run()
        #expect(third.status == 0)
        let run3 = try #require(try store.runs().first)
        let rerun = try stages(store, run: run3.id).filter { $0.value == .succeeded }.map(\.key)
        #expect(Set(rerun) == ["ingest@add", "tokenize@add", "train@add:lora", "train@add:sira", "train:multitask",
                               "evaluate@add:base", "evaluate@add:lora", "evaluate@add:sira", "evaluate@add:multitask",
                               "evaluate@rev:multitask", "package@add:lora", "package@add:sira", "package:multitask",
                               "merge", "package:bundle"])
        #expect(try stages(store, run: run3.id).filter { $0.value == .cached }.count == 28 - 15)
    }

    /// Only LoRA adapters (one per task and a multitask LoRA): whichever wins, the merge stage
    /// folds it into the base and checks the merged logits against the adapted model's.
    @Test func chosenLoRAsAreFoldedIntoTheBaseAndTheBundleReproducesTheirMetrics() throws {
        let p = try TinyPipeline(variants: "lora: {r: 2}\n  multitask: {from: lora}")
        let result = try p.run()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let store = try RunStore(path: p.workspace.databaseURL.path)
        let run = try #require(try store.runs().first)
        let served = try p.expectBundleReproducesEvaluation(run: run.id, store: store, maxExamples: 3, maxNewTokens: 4)
        let merge = try store.metrics(run: run.id).filter { $0.key.hasPrefix("merge.") && $0.key.hasSuffix(".max_logit_diff") }
        // One check per distinct bundle entry (the multitask LoRA ships even where it did not win).
        #expect(Set(merge.map(\.key)) == Set((Array(served.values) + ["multitask"]).map { "merge.\($0).max_logit_diff" }))
        #expect(merge.allSatisfy { $0.value < 1e-4 })
    }

    /// The paper's protocol through the CLI: every arm trained per seed with the same data order,
    /// replicas folded into mean ± std, the winners said in the run's output, in `show` and in
    /// the report, the parameter-matched LoRA as large as SiRA, and the bundle reproducing the
    /// chosen replicas' metrics.
    @Test func theComparisonRunsEveryArmPerSeedAndSaysWhoWins() throws {
        let p = try TinyPipeline(variants: "", compare: "{seeds: [0, 1], arms: [lora, lora-wide, sira, multitask], sira: {r: 2, lora_alpha: 4, num_experts: 3, top_k: 2}}",
                                 trainExtra: ", eval_every: 4")
        let result = try p.run()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let store = try RunStore(path: p.workspace.databaseURL.path)
        let run = try #require(try store.runs().first)
        let s = try stages(store, run: run.id)
        // (3 per-task arms × 2 tasks + 1 multitask) × 2 seeds trained; 2 tasks × 4 arms × 2 seeds
        // + 2 base evaluations; no per-replica packages, one bundle.
        #expect(s.keys.filter { $0.hasPrefix("train") }.count == 14)
        #expect(s.keys.filter { $0.hasPrefix("evaluate") }.count == 18)
        #expect(s.keys.filter { $0.hasPrefix("package") } == ["package:bundle"])
        #expect(s.values.allSatisfy { $0 == .succeeded })

        // The printed comparison: replicas folded, a winner and a verdict per task.
        for task in ["add", "rev"] {
            #expect(result.stdout.contains("- \(task): ") && result.stdout.split(separator: "\n").contains { $0.hasPrefix(task) && $0.contains("★ ") })
        }
        #expect(result.stdout.contains("lora-wide") && result.stdout.contains(" ± "))

        // Same seed, same data order: LoRA's B starts at zero, so the first step's loss is the
        // base's loss on that step's batch, equal for both LoRA arms; another seed, another batch.
        func firstLoss(_ variant: String) throws -> Double {
            try #require(try store.metricSeries(run: run.id, key: "train.loss", task: "add", variant: variant).first { $0.step == 1 }).value
        }
        #expect(try firstLoss("lora~s0") == firstLoss("lora-wide~s0"))
        #expect(try firstLoss("lora~s1") == firstLoss("lora-wide~s1"))
        #expect(try firstLoss("lora~s0") != firstLoss("lora~s1"))

        // lora-wide has the LoRA rank nearest SiRA's parameter count. By hand (hidden 16, head
        // dim 8, 1 KV head, intermediate 64, 1 layer): LoRA costs 32 + 24 + 80 + 80 = 216 per
        // rank on q, v, up, down, so r 2 is 432; SiRA (r 2, 3 experts) 3·(2·32+16) + 3·(2·24+16)
        // + 3·(2·80+16) + 3·(2·80+64) = 1632; 1632 / 216 = 7.6: rank 8, 1728 weights.
        let params = try store.metrics(run: run.id).filter { $0.task == "add" && $0.key == "train.adapter_parameters" }
        func count(_ v: String) throws -> Double { try #require(params.first { $0.variant == v }).value }
        #expect(try count("lora~s0") == 432 && count("sira~s1") == 1632 && count("lora-wide~s0") == 1728)

        try p.expectBundleReproducesEvaluation(run: run.id, store: store, maxExamples: 3, maxNewTokens: 4)

        // The eval-loss curve during training (every 4 steps and at the last, step 6) ends where
        // the evaluate stage measured the trained adapter: the same examples, the same weights.
        let stored = try store.metrics(run: run.id)
        func evalLoss(_ task: String, _ variant: String) -> Double? {
            stored.first { $0.task == task && $0.variant == variant && $0.key == "eval.loss" }?.value
        }
        let curve = try store.metricSeries(run: run.id, key: "train.eval_loss", task: "rev", variant: "sira~s1")
        #expect(curve.compactMap(\.step) == [4, 6])
        #expect(curve.last?.value == evalLoss("rev", "sira~s1"))
        // A multitask adapter draws one curve per task.
        let perTask = try store.metricSeries(run: run.id, key: "train.eval_loss.add", variant: "multitask~s0")
        #expect(perTask.compactMap(\.step) == [4, 6] && perTask.last?.value == evalLoss("add", "multitask~s0"))

        let show = try p.cli(["show", String(run.id)]).wait()
        #expect(show.status == 0)
        #expect(show.stdout.contains("comparison (★") && show.stdout.contains("- add: ") && show.stdout.contains("lora-wide"))
        let report = try p.cli(["report", String(run.id), "-o", "r.html"]).wait()
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOf: p.root.appendingPathComponent("r.html"), encoding: .utf8)
        #expect(html.contains("lora-wide") && html.contains("★") && html.contains("(2 seeds)"))
        #expect(html.contains("Trainable adapter parameters: ") && html.contains("lora 432 · lora-wide 1728 · sira 1632"))
    }

    /// Each ablation arm trains and is evaluated as SiRA with its one setting changed, and the
    /// change shows where it must: expert count in the parameter count, capacity in the dropped
    /// share, k in how the eval split's assignments spread.
    @Test func ablationArmsTrainWithTheirOneSettingChanged() throws {
        let p = try TinyPipeline(variants: "", compare: """
            {seeds: [0], arms: [sira], sira: {r: 2, lora_alpha: 4, num_experts: 3, top_k: 2, capacity_factor: 1.25}, \
            ablations: {top_k: [1], num_experts: [2], capacity_factor: [0.5], expert_dropout: [0.5]}}
            """)
        let result = try p.run()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let store = try RunStore(path: p.workspace.databaseURL.path)
        let run = try #require(try store.runs().first)
        let s = try stages(store, run: run.id)
        let arms = ["sira", "sira-k1", "sira-e2", "sira-cf0.5", "sira-drop0.5"]
        for arm in arms {
            for task in ["add", "rev"] {
                #expect(s["train@\(task):\(arm)"] == .succeeded && s["evaluate@\(task):\(arm)"] == .succeeded, "\(arm) on \(task): \(s)")
            }
        }
        let stored = try store.metrics(run: run.id).filter { $0.task == "add" }
        func value(_ variant: String, _ key: String) throws -> Double {
            try #require(stored.first { $0.variant == variant && $0.key == key }, "\(variant) \(key)").value
        }
        // Parameters (see the comparison test's count): 3 experts 1632; 2 experts 2·(2·32+16) +
        // 2·(2·24+16) + 2·(2·80+16) + 2·(2·80+64) = 1088; k, capacity and dropout change none.
        for arm in arms { #expect(try value(arm, "train.adapter_parameters") == (arm == "sira-e2" ? 1088 : 1632)) }
        // Capacity 0.5: C = ceil(0.5·2·T/3) per expert keeps at most 3·C ≤ T + 2 of 2T
        // assignments, so nearly half are dropped; 1.25 keeps far more.
        let tight = try value("sira-cf0.5", RouterMetricKey.droppedFraction)
        let loose = try value("sira", RouterMetricKey.droppedFraction)
        #expect(tight > 0.4 && tight > loose + 0.2, "dropped: capacity 0.5 \(tight), 1.25 \(loose)")
        // On the eval split (no capacity limit): with k = E = 2 every token goes to both experts,
        // so each takes exactly half; every arm's shares sum to 1 per layer.
        let e = RouterMetricKey.evaluation
        #expect(try value("sira-e2", RouterMetricKey.layerLoad(0, expert: 0, prefix: e)) == 0.5)
        #expect(try value("sira-e2", RouterMetricKey.layerLoad(0, expert: 1, prefix: e)) == 0.5)
        #expect(!stored.contains { $0.variant == "sira-e2" && $0.key == RouterMetricKey.layerLoad(0, expert: 2, prefix: e) })
        for arm in arms where arm != "sira-e2" {
            let total = try (0 ..< 3).map { try value(arm, RouterMetricKey.layerLoad(0, expert: $0, prefix: e)) }.reduce(0, +)
            #expect(abs(total - 1) < 1e-9, "\(arm): shares sum to \(total)")
            #expect(try value(arm, RouterMetricKey.droppedFraction(e)) == 0)
        }
        // The ablations are compared like any arm.
        for arm in arms.dropFirst() { #expect(result.stdout.contains(arm)) }
    }

    /// `run --force GLOB` reruns the matching stages although they are cached and replaces their
    /// outputs; training is deterministic, so the new adapter has the same bytes and everything
    /// after it stays cached. A glob that matches nothing is refused before anything runs.
    @Test func forceRerunsExactlyTheMatchingStages() throws {
        let p = try TinyPipeline(variants: "lora: {r: 2}")
        #expect(try p.run().status == 0)
        let store = try RunStore(path: p.workspace.databaseURL.path)
        let typo = try p.run(["--force", "trian@*"])
        #expect(typo.status == 64 && typo.stderr.contains("--force 'trian@*' matches no stage of tiny"), "\(typo.stderr)")
        #expect(try store.runs().count == 1)

        let first = try #require(try store.runs().first)
        let keyBefore = try #require(try store.stages(run: first.id).first { $0.stage == "train@add:lora" }?.cacheKey)
        let forced = try p.run(["--force", "train@add:*", "--force", "tokenize@rev"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let run = try #require(try store.runs().first)
        let s = try stages(store, run: run.id)
        #expect(s["train@add:lora"] == .succeeded && s["tokenize@rev"] == .succeeded, "\(s)")
        let others = s.filter { $0.key != "train@add:lora" && $0.key != "tokenize@rev" }
        #expect(!others.isEmpty && others.values.allSatisfy { $0 == .cached }, "\(others.filter { $0.value != .cached })")
        // Same key, same place: the output was replaced, not put beside the old one.
        let keyAfter = try #require(try store.stages(run: run.id).first { $0.stage == "train@add:lora" }?.cacheKey)
        #expect(keyAfter == keyBefore)
        #expect(try store.params(run: run.id).contains { $0.key == "run.force" && $0.value == "train@add:* tokenize@rev" })
    }

    /// `grad_accum` reaches the trainer: a run with it trains, records it, and its training
    /// stages get other cache keys than the same run without it (the other stages keep theirs).
    @Test func gradAccumTrainsWithItsOwnCacheKeys() throws {
        let plain = try TinyPipeline(variants: "lora: {r: 2}")
        let accumulated = try TinyPipeline(variants: "lora: {r: 2}", trainExtra: ", grad_accum: 2")
        var keys: [[String: String]] = []
        for p in [plain, accumulated] {
            let result = try p.run()
            #expect(result.status == 0, "\(result.stderr)")
            let store = try RunStore(path: p.workspace.databaseURL.path)
            let run = try #require(try store.runs().first)
            keys.append(Dictionary(uniqueKeysWithValues: try store.stages(run: run.id).compactMap { s in s.cacheKey.map { (s.stage, $0) } }))
            if p === accumulated { #expect(try store.params(run: run.id).contains { $0.key == "train.grad_accum" && $0.value == "2" }) }
        }
        for (stage, key) in keys[0] {
            if stage.hasPrefix("train@") { #expect(keys[1][stage] != key, "\(stage)") }
            if stage.hasPrefix("ingest@") || stage.hasPrefix("tokenize@") || stage == "base" { #expect(keys[1][stage] == key, "\(stage)") }
        }
    }

    @Test func killedDuringTrainingResumesAndEndsLikeAnUninterruptedRun() throws {
        let config = { try TinyPipeline(trainSteps: 300, saveEvery: 20, jobs: 1, variants: "lora: {r: 2}") }
        let p = try config()
        let child = try p.cli(["run", p.manifestPath, "--plain"])
        // Progress lines come every 10%: wait until training is past its second save.
        let reached = child.waitForOutput(timeout: 240) { Self.step(of: "train@add:lora", in: $0) >= 60 }
        #expect(reached)
        child.signal(SIGKILL)
        let killed = try child.wait()
        #expect(killed.status != 0)
        let store = try RunStore(path: p.workspace.databaseURL.path)
        #expect(try store.runs().first?.status == .running) // nobody has noticed yet

        let resumed = try p.run()
        #expect(resumed.status == 0, "\(resumed.stdout)\n\(resumed.stderr)")
        #expect(resumed.stdout.contains("marked crashed"))
        let runs = try store.runs()
        #expect(runs.map(\.status) == [.succeeded, .crashed])
        #expect(runs.first?.trigger == "resume")
        // The resumed stage started from its last saved step, not from zero.
        let steps = try store.metricSeries(run: runs[0].id, key: "train.loss", task: "add", variant: "lora").compactMap(\.step)
        let start = try #require(steps.first)
        #expect(start > 1 && start % 20 == 1 && steps.last == 300)
        #expect(steps == Array(start ... 300))
        // Stages finished before the kill came from the cache.
        #expect(try stages(store, run: runs[0].id)["base"] == .cached)

        // The same pipeline never interrupted ends with bit-identical adapter weights.
        let q = try config()
        #expect(try q.run().status == 0)
        func adapterDigest(_ t: TinyPipeline) throws -> String {
            let s = try RunStore(path: t.workspace.databaseURL.path)
            let run = try #require(try s.runs().first)
            let row = try #require(try s.stages(run: run.id).first { $0.stage == "train@add:lora" })
            let folder = t.workspace.stageCacheFolder(.train).appendingPathComponent(try #require(row.cacheKey))
            return try ContentHash.sha256(file: folder.appendingPathComponent("adapter_model.safetensors"))
        }
        #expect(try adapterDigest(p) == adapterDigest(q))
    }

    @Test func sigtermStopsCleanlyAndTheRunIsResumable() throws {
        let p = try TinyPipeline(trainSteps: 300, saveEvery: 50, jobs: 1, variants: "lora: {r: 2}")
        let child = try p.cli(["run", p.manifestPath, "--plain"])
        #expect(child.waitForOutput(timeout: 240) { Self.step(of: "train@add:lora", in: $0) >= 60 })
        child.signal(SIGTERM)
        let stopped = try child.wait()
        #expect(stopped.status == 130)
        // One stop notice, not two different ones.
        #expect(stopped.stdout.components(separatedBy: "\n").filter { $0.contains("stopping") }.count == 1, "\(stopped.stdout)")
        let store = try RunStore(path: p.workspace.databaseURL.path)
        let run = try #require(try store.runs().first)
        #expect(run.status == .cancelled)
        let rows = try store.stages(run: run.id)
        #expect(rows.first { $0.stage == "train@add:lora" }?.status == .cancelled)
        #expect(rows.filter { $0.stage.hasPrefix("package") }.allSatisfy { $0.status == .cancelled })
        let again = try p.run()
        #expect(again.status == 0)
        let steps = try store.metricSeries(run: try #require(try store.runs().first).id, key: "train.loss", task: "add", variant: "lora")
        #expect((steps.first?.step ?? 0) > 1)
    }

    @Test func aSecondSchedulerIsRefusedWithTheHolder() throws {
        let p = try TinyPipeline()
        let holder = try WorkspaceSession(workspace: p.workspace, recorder: MemoryRecorder(), command: "sira-pipeline watch")
        let refused = try p.run()
        #expect(refused.status == 75)
        #expect(refused.stderr.contains("is in use by another sira-pipeline scheduler: pid \(getpid()) on \(WorkspaceLock.hostName) since"))
        #expect(refused.stderr.contains("(sira-pipeline watch)"))
        holder.close()
        #expect(try p.run().status == 0)
    }

    @Test func manifestErrorsNameFileLineAndKey() throws {
        let p = try TinyPipeline()
        try p.tw.write("name: bad\ntasks: [{from: data/src/add.jsonl}]\nadapters: {lora: {r: 2}}\ntrain:\n  steps: many\n  lerning_rate: 0.1\n", to: "pipelines/bad.yaml")
        let v = try p.cli(["validate", "pipelines/bad.yaml", p.manifestPath]).wait()
        #expect(v.status == 65)
        #expect(v.stderr.contains("pipelines/bad.yaml:5: train.steps: expected an integer, got 'many'"))
        #expect(v.stderr.contains("pipelines/bad.yaml:6: train.lerning_rate: unknown key"))
        #expect(v.stdout.contains("pipelines/tiny.yaml: ok"))
        let r = try p.cli(["run", "pipelines/bad.yaml"]).wait()
        #expect(r.status == 65)
        #expect(r.stderr.contains("pipelines/bad.yaml:5: train.steps"))
        #expect(!FileManager.default.fileExists(atPath: p.workspace.databaseURL.path)) // nothing ran
    }
}
