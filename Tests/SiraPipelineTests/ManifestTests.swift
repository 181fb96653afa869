import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// The 1-based line of the first line containing `needle`: an expectation computed from the text
/// itself, independent of the YAML parser's marks.
func lineOf(_ needle: String, in text: String, after: Int = 0) -> Int {
    let lines = text.components(separatedBy: "\n")
    for (i, l) in lines.enumerated() where i >= after && l.contains(needle) { return i + 1 }
    Issue.record("'\(needle)' not in text")
    return -1
}

func manifestErrors(_ yaml: String, file: String = "pipelines/t.yaml") -> [ManifestDiagnostic] {
    do {
        _ = try ManifestLoader.parse(yaml: yaml, file: file)
        Issue.record("expected the manifest to be rejected")
        return []
    } catch let e as ManifestError {
        return e.diagnostics
    } catch {
        Issue.record("unexpected error \(error)")
        return []
    }
}

let fullManifest = """
name: support-tasks
tasks:
  - name: sentiment
    from: data/inbox/sentiment*.jsonl
  - name: dates
    from: data/inbox/dates.csv
    columns: {prompt: question, completion: answer}
    eval_fraction: 0.2
  - from: data/inbox/corpus.txt
    adapt: false
tokenizer: {train: {vocab_size: 4096, corpus: [corpus]}}
base: {builtin: {layers: 4, hidden: 256, heads: 4, kv_heads: 2, pretrain_steps: 2000}}
adapters:
  lora:  {r: 8, lora_alpha: 16}
  sira:  {r: 4, lora_alpha: 16, num_experts: 8, top_k: 2, capacity_factor: 1.25,
          expert_dropout: 0.1, aux_loss_weight: 0.01}
  sira-e16: {kind: sira, num_experts: 16}
  multitask: {from: sira}
train: {steps: 400, batch: 16, seq_len: 128, lr: 3e-4, warmup: 20, seed: 0}
evaluate: {exact_match: true, max_examples: 40}
package: {zstd_level: 3}
schedule: {cron: "0 2 * * *", timezone: Europe/Berlin, catchup: once}
executor: local
retries: 2
jobs: 2
"""

@Suite struct ManifestParsingTests {
    @Test func fullManifestParsesWithDefaultsApplied() throws {
        let m = try ManifestLoader.parse(yaml: fullManifest, file: "pipelines/full.yaml")
        #expect(m.name == "support-tasks")
        #expect(m.tasks.map(\.name) == ["sentiment", "dates", "corpus"])
        #expect(m.tasks[0].format == .jsonl && m.tasks[1].format == .csv && m.tasks[2].format == .text)
        #expect(m.tasks[1].columns == ["prompt": "question", "completion": "answer"])
        #expect(m.tasks[0].evalFraction == ManifestDefaults.evalFraction)
        #expect(m.tasks[1].evalFraction == 0.2)
        #expect(m.adaptedTasks.map(\.name) == ["sentiment", "dates"])
        #expect(m.tokenizer == .train(vocabSize: 4096, corpus: ["corpus"]))
        guard case let .builtin(b) = m.base else { Issue.record("builtin base expected"); return }
        #expect(b.layers == 4 && b.hidden == 256 && b.heads == 4 && b.kvHeads == 2 && b.pretrainSteps == 2000)
        // 256 * 8 / 3 = 682, rounded up to a multiple of 32.
        #expect(b.intermediate == 704)
        // No base corpus given: every task.
        #expect(b.corpus == ["sentiment", "dates", "corpus"])
        #expect(m.adapters.map(\.name) == ["lora", "sira", "sira-e16", "multitask"])
        let e16 = try #require(m.variant(named: "sira-e16"))
        #expect(e16.kind == .sira && e16.numExperts == 16 && e16.topK == 2 && e16.r == 4)
        let mt = try #require(m.variant(named: "multitask"))
        #expect(mt.kind == .multitask && mt.architecture == .sira && mt.from == "sira" && mt.numExperts == 8)
        #expect(mt.expertDropout == 0.1)
        #expect(m.train.steps == 400 && m.train.lr == 3e-4 && m.train.schedule == .cosine)
        #expect(m.train.saveEvery == ManifestDefaults.train.saveEvery)
        #expect(m.evaluate.maxExamples == 40)
        #expect(m.package.zstdLevel == 3)
        #expect(m.schedule == ScheduleSpec(cron: "0 2 * * *", timezone: "Europe/Berlin", catchup: .once, maxCatchup: ManifestDefaults.maxCatchup))
        #expect(m.executor == .local && m.retries == 2 && m.jobs == 2)
    }

    @Test func minimalManifestTakesEveryDefault() throws {
        let m = try ManifestLoader.parse(yaml: "name: p\ntasks: [{from: a.jsonl}]\nadapters: {lora: }\n", file: "m.yaml")
        #expect(m.tasks[0].name == "a")
        #expect(m.tokenizer == .train(vocabSize: ManifestDefaults.vocabSize, corpus: ["a"]))
        #expect(m.train == ManifestDefaults.train)
        #expect(m.evaluate == ManifestDefaults.evaluate)
        #expect(m.adapters == [ManifestDefaults.variant(.lora, name: "lora")])
        #expect(m.retries == ManifestDefaults.retries && m.jobs == ManifestDefaults.jobs && m.schedule == nil)
    }

    /// `grad_accum` sets the effective batch; 1 is the same spec as leaving it out, and a spec
    /// without it encodes without it, so manifests that never use it keep their cache keys.
    @Test func gradAccumSetsTheEffectiveBatchAndLeavesOtherKeysAlone() throws {
        func train(_ body: String) throws -> TrainSpec {
            try ManifestLoader.parse(yaml: "name: p\ntasks: [{from: a.jsonl}]\nadapters: {lora: }\ntrain: {\(body)}\n", file: "m.yaml").train
        }
        let accumulated = try train("batch: 4, grad_accum: 3")
        #expect(accumulated.gradAccum == 3 && accumulated.effectiveBatch == 12)
        #expect(try train("batch: 4, grad_accum: 1") == train("batch: 4"))
        #expect(try !CacheKey.canonicalJSON(train("batch: 4")).contains("gradAccum"))
        #expect(try CacheKey.canonicalJSON(accumulated) != CacheKey.canonicalJSON(train("batch: 4")))
        let bad = manifestErrors("name: p\ntasks: [{from: a.jsonl}]\nadapters: {lora: }\ntrain:\n  grad_accum: 0\n", file: "m.yaml")
        #expect(bad.contains { $0.keyPath == "train.grad_accum" && $0.line == 5 }, "\(bad)")
    }

    @Test func unknownKeyNamesFileLineAndPathWithAHint() {
        let yaml = fullManifest.replacingOccurrences(of: "train: {steps: 400,", with: "train:\n  lerning_rate: 0.1\n  steps: 400\ntrain_x: {")
        let errors = manifestErrors(yaml, file: "pipelines/typo.yaml")
        let typo = errors.first { $0.keyPath == "train.lerning_rate" }
        #expect(typo?.line == lineOf("lerning_rate", in: yaml))
        #expect(typo?.description.hasPrefix("pipelines/typo.yaml:\(lineOf("lerning_rate", in: yaml)): train.lerning_rate: unknown key") == true)
        let top = errors.first { $0.keyPath == "train_x" }
        #expect(top?.problem.contains("did you mean 'train'?") == true)
        #expect(top?.line == lineOf("train_x", in: yaml))
    }

    @Test func wrongTypesAndRangesAreLocated() {
        let yaml = """
        name: p
        tasks:
          - from: a.jsonl
          - from: b.csv
            eval_fraction: 1.5
            columns: {prompt: q, answer: a}
        adapters:
          lora: {r: eight}
          sira: {num_experts: 4, top_k: 6}
        train:
          steps: 10
          lr: -1
          warmup: 20
        base: {builtin: {hidden: 100, heads: 3}}
        """
        let errors = manifestErrors(yaml)
        func find(_ path: String) -> ManifestDiagnostic? { errors.first { $0.keyPath == path } }
        #expect(find("tasks[1].eval_fraction")?.problem == "must be between 0 and 0.9, got 1.5")
        #expect(find("tasks[1].eval_fraction")?.line == 5)
        #expect(find("tasks[1].columns.answer")?.problem.contains("unknown column role") == true)
        #expect(find("tasks[1].columns")?.problem == "'prompt' is mapped but 'completion' is not")
        #expect(find("adapters.lora.r")?.problem == "expected an integer, got 'eight'")
        #expect(find("adapters.lora.r")?.line == 8)
        #expect(find("adapters.sira.top_k")?.problem == "top_k (6) must be ≤ num_experts (4)")
        #expect(find("train.lr")?.problem == "must be > 0, got -1")
        #expect(find("train.lr")?.line == 12)
        #expect(find("train.warmup")?.problem == "warmup (20) must be ≤ steps (10)")
        #expect(find("base.builtin.heads")?.problem == "hidden (100) must be a multiple of heads (3)")
        #expect(errors.count == 8)
    }

    @Test func evaluateSeedsPointsToTheComparison() {
        let yaml = "name: p\ntasks: [{from: a.jsonl}]\nadapters: {lora: }\nevaluate:\n  seeds: [0, 1]\n"
        let errors = manifestErrors(yaml)
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.keyPath == "evaluate.seeds" && errors.first?.line == 5)
        #expect(errors.first?.problem.contains("compare.seeds") == true)
    }

    @Test func missingRequiredKeysAndNotApplicableKeys() {
        let yaml = """
        tasks:
          - from: data/*.jsonl
        adapters:
          lora: {r: 4, num_experts: 8}
          multitask: {from: sirra}
          sparse: {r: 2}
        """
        let errors = manifestErrors(yaml, file: "x.yaml")
        let shown = errors.map(\.description)
        #expect(shown.contains("x.yaml:1: name: missing required key"))
        #expect(shown.contains("x.yaml:2: tasks[0].name: required when 'from' is a glob"))
        #expect(shown.contains("x.yaml:4: adapters.lora.num_experts: does not apply to lora adapters"))
        #expect(errors.contains { $0.keyPath == "adapters.multitask.from" && $0.line == 5 && $0.problem.contains("'sirra', which is not a variant") })
        #expect(errors.contains { $0.keyPath == "adapters.sparse" && $0.line == 6 && $0.problem.contains("add 'kind:") })
    }

    @Test func crossReferencesAreChecked() {
        let yaml = """
        name: p
        tasks: [{name: multitask, from: a.jsonl}, {from: b.jsonl}, {name: b, from: c.jsonl}]
        tokenizer: {train: {corpus: [b, nope]}}
        adapters: {lora: }
        schedule: {cron: "0 2 * *", timezone: Mars/Olympus, catchup: sometimes}
        executor: slurmm
        """
        let errors = manifestErrors(yaml)
        func find(_ path: String) -> [String] { errors.filter { $0.keyPath == path }.map(\.problem) }
        #expect(find("tasks[0].name") == ["'multitask' is reserved (stage ids use it)"])
        #expect(find("tasks[2].name") == ["duplicate task name 'b' (also tasks[1])"])
        #expect(find("tokenizer.train.corpus") == ["'nope' is not a task of this pipeline"])
        #expect(find("schedule.cron").first?.contains("expected 5 fields") == true)
        #expect(find("schedule.timezone").first?.contains("unknown time zone 'Mars/Olympus'") == true)
        #expect(find("schedule.catchup") == ["expected one of skip, once, all, got 'sometimes'"])
        #expect(find("executor") == ["expected local or slurm, got 'slurmm' (did you mean 'slurm'?)"])
    }

    @Test func yamlSyntaxAndDuplicateKeysAreLocated() {
        let bad = "name: p\ntasks:\n  - from: a.jsonl\n   adapt: x\n"
        let e1 = manifestErrors(bad, file: "s.yaml")
        #expect(e1.count == 1)
        #expect(e1.first?.line == 4 && e1.first?.problem.hasPrefix("YAML syntax") == true)
        let dup = "name: p\nname: q\ntasks: [{from: a.jsonl}]\nadapters: {lora: }\n"
        let e2 = manifestErrors(dup, file: "d.yaml")
        #expect(e2.first?.problem.contains("duplicate key 'name'") == true)
        #expect(manifestErrors("", file: "e.yaml").first?.description == "e.yaml:1: the manifest is empty")
        #expect(manifestErrors("- a\n- b\n", file: "l.yaml").first?.description == "l.yaml:1: expected a mapping, got a list")
    }

    @Test func loadingAFileNamesIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.yaml")
        let yaml = "name: p\ntasks: [{from: a.jsonl}]\nadapters: {lora: {r: 0}}\n"
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        do {
            _ = try ManifestLoader.load(url, displayPath: "pipelines/bad.yaml")
            Issue.record("expected an error")
        } catch let e as ManifestError {
            #expect(e.description == "pipelines/bad.yaml:3: adapters.lora.r: must be between 1 and 4096, got 0")
        }
        // A file that cannot be read is named without a line.
        func problem(_ url: URL, _ shown: String) -> String? {
            do { _ = try ManifestLoader.load(url, displayPath: shown); return nil } catch { return "\(error)" }
        }
        #expect(problem(dir.appendingPathComponent("none.yaml"), "pipelines/none.yaml") == "pipelines/none.yaml: no such file")
        #expect(problem(dir, "pipelines") == "pipelines: a folder, not a manifest file")
        try Data([0x6e, 0x61, 0xff, 0xfe]).write(to: dir.appendingPathComponent("binary.yaml"))
        #expect(problem(dir.appendingPathComponent("binary.yaml"), "b.yaml") == "b.yaml: not UTF-8 text")
    }

    @Test func hfBaseRefusesATrainedTokenizer() throws {
        let yaml = "name: p\ntasks: [{from: a.jsonl}]\nbase: {hf: models/tiny}\ntokenizer: {train: {vocab_size: 512}}\nadapters: {lora: }\n"
        let errors = manifestErrors(yaml)
        #expect(errors.map(\.keyPath) == ["tokenizer.train"])
        let ok = try ManifestLoader.parse(yaml: "name: p\ntasks: [{from: a.jsonl}]\nbase: {hf: models/tiny}\nadapters: {lora: }\n", file: "m")
        #expect(ok.tokenizer == .load(path: "models/tiny/tokenizer.json"))
        #expect(ok.base == .hf(path: "models/tiny"))
    }

    @Test func ggufBaseBringsItsTokenizerAndIsOneOfThreeBaseForms() throws {
        let ok = try ManifestLoader.parse(yaml: "name: p\ntasks: [{from: a.jsonl}]\nbase: {gguf: models/m.gguf}\nadapters: {lora: }\n", file: "m")
        #expect(ok.base == .gguf(path: "models/m.gguf") && ok.tokenizer == .gguf(path: "models/m.gguf"))
        let withTokenizer = manifestErrors("name: p\ntasks: [{from: a.jsonl}]\nbase: {gguf: m.gguf}\ntokenizer: {path: t.json}\nadapters: {lora: }\n")
        #expect(withTokenizer.map(\.keyPath) == ["tokenizer"] && withTokenizer[0].problem.contains("GGUF base brings its own tokenizer"))
        let two = manifestErrors("name: p\ntasks: [{from: a.jsonl}]\nbase: {gguf: m.gguf, hf: models/tiny}\nadapters: {lora: }\n")
        #expect(two.map(\.keyPath) == ["base"] && two[0].problem.contains("not hf and gguf"), "\(two)")
        let none = manifestErrors("name: p\ntasks: [{from: a.jsonl}]\nbase: {}\nadapters: {lora: }\n")
        #expect(none.map(\.keyPath) == ["base"] && none[0].problem.contains("'gguf: MODEL.gguf'"), "\(none)")
    }

    @Test func layersToTransformIsReadSortedAndSharedByTheComparisonsArms() throws {
        let m = try ManifestLoader.parse(yaml: "name: p\ntasks: [{from: a.jsonl}]\nadapters: {lora: {r: 2, layers_to_transform: [3, 1]}}\n", file: "m")
        #expect(m.adapters[0].layersToTransform == [1, 3])
        let c = try ManifestLoader.parse(yaml: "name: p\ntasks: [{from: a.jsonl}]\ncompare: {sira: {layers_to_transform: [2]}}\n", file: "m")
        #expect(!c.adapters.isEmpty && c.adapters.allSatisfy { $0.kind == .multitask || $0.layersToTransform == [2] }, "\(c.adapters.map(\.layersToTransform))")
        let twice = manifestErrors("name: p\ntasks: [{from: a.jsonl}]\nadapters: {lora: {layers_to_transform: [1, 1]}}\n")
        #expect(twice.map(\.keyPath) == ["adapters.lora.layers_to_transform"] && twice[0].problem.contains("twice"), "\(twice)")
        let onArm = manifestErrors("name: p\ntasks: [{from: a.jsonl}]\ncompare: {lora: {layers_to_transform: [1]}}\n")
        #expect(onArm.map(\.keyPath) == ["compare.lora.layers_to_transform"], "\(onArm)")
    }

    @Test func suggestionDistanceIsLevenshtein() {
        // Hand-computed: kitten → sitting needs 3 edits; flaw → lawn needs 2.
        #expect(Suggest.distance(Array("kitten"), Array("sitting")) == 3)
        #expect(Suggest.distance(Array("flaw"), Array("lawn")) == 2)
        #expect(Suggest.distance(Array(""), Array("abc")) == 3)
        #expect(Suggest.closest("zstd_levle", ["zstd_level", "steps"]) == "zstd_level")
        #expect(Suggest.closest("banana", ["zstd_level", "steps"]) == nil)
    }
}
