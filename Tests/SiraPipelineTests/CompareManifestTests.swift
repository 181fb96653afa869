import Foundation
import SiraModel
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// The `compare:` section: the paper's protocol expanded into seed replicas of every arm, the
/// parameter-matched LoRA resolved against the base's shape, and the graph that ships a bundle.
@Suite struct CompareManifestTests {
    static let yaml = """
    name: cmp
    tasks:
      - {name: a, from: a.jsonl}
      - {name: b, from: b.jsonl}
      - {name: corpus, from: corpus.txt, adapt: false}
    tokenizer: {train: {vocab_size: 300, corpus: [corpus]}}
    base: {builtin: {layers: 2, hidden: 32, heads: 2, kv_heads: 1, intermediate: 48, corpus: [corpus]}}
    train: {steps: 10, warmup: 2, seed: 7}
    compare:
      seeds: [0, 1]
      sira: {r: 2, lora_alpha: 4, num_experts: 3, top_k: 2, capacity_factor: 1.5, expert_dropout: 0.2}
      temperature: 3
      ablations: {top_k: [1], capacity_factor: [2.0]}
    """

    @Test func armsBecomeSeedReplicasWithTheProtocolsSettings() throws {
        let m = try ManifestLoader.parse(yaml: Self.yaml, file: "cmp.yaml")
        let spec = try #require(m.comparison)
        #expect(spec.seeds == [0, 1])
        #expect(spec.templates.map(\.name) == ["lora", "lora-wide", "molora", "sira", "multitask", "sira-k1", "sira-cf2"])
        var expected: [String] = []
        for t in spec.templates.map(\.name) { expected += ["\(t)~s0", "\(t)~s1"] }
        #expect(m.adapters.map(\.name) == expected)
        #expect(m.adapters.allSatisfy { $0.seed == VariantName(parsing: $0.name).seed })

        let lora = try #require(m.variant(named: "lora~s1"))
        #expect(lora.kind == .lora && lora.r == 2 && lora.loraAlpha == 4 && lora.matchParametersOf == nil)
        #expect(try #require(m.variant(named: "lora-wide~s0")).matchParametersOf == "sira")
        let molora = try #require(m.variant(named: "molora~s0"))
        #expect(molora.kind == .molora && molora.numExperts == 3 && molora.r == 2)
        let sira = try #require(m.variant(named: "sira~s0"))
        #expect(sira.kind == .sira && sira.numExperts == 3 && sira.topK == 2 && sira.capacityFactor == 1.5 && sira.expertDropout == 0.2)
        let mt = try #require(m.variant(named: "multitask~s1"))
        #expect(mt.kind == .multitask && mt.architecture == .sira && mt.from == "sira~s1" && mt.mixingTemperature == 3)
        #expect(mt.numExperts == 3 && mt.seed == 1)
        #expect(try #require(m.variant(named: "sira-k1~s0")).topK == 1)
        let cf = try #require(m.variant(named: "sira-cf2~s1"))
        #expect(cf.capacityFactor == 2 && cf.topK == 2 && cf.seed == 1)
        // Every arm adapts the same modules.
        #expect(Set(m.adapters.map(\.targetModules)).count == 1)
    }

    @Test func oneSeedKeepsPlainNamesAndDefaultsToTrainSeed() throws {
        let yaml = Self.yaml.replacingOccurrences(of: "  seeds: [0, 1]\n", with: "")
            .replacingOccurrences(of: "  ablations: {top_k: [1], capacity_factor: [2.0]}", with: "  arms: [lora, sira]")
        let m = try ManifestLoader.parse(yaml: yaml, file: "cmp.yaml")
        #expect(m.adapters.map(\.name) == ["lora", "sira"])
        #expect(m.adapters.allSatisfy { $0.seed == 7 })
    }

    @Test func theGraphTrainsEveryReplicaAndShipsOnlyTheBundle() throws {
        let m = try ManifestLoader.parse(yaml: Self.yaml, file: "cmp.yaml")
        let g = try StageGraph(manifest: m)
        let ids = Set(g.stages.map(\.id.description))
        #expect(ids.contains("train@a:lora-wide~s1") && ids.contains("train:multitask~s0") && ids.contains("evaluate@b:multitask~s1"))
        #expect(ids.contains("evaluate@a:base") && ids.contains("merge") && ids.contains("package:bundle"))
        // Replicas are not packaged one by one.
        #expect(ids.filter { $0.hasPrefix("package") } == ["package:bundle"])
        // 3 ingest + 3 tokenize, tokenizer, base; 6 per-task arms × 2 seeds × 2 tasks trained and
        // evaluated, 2 multitask trainings evaluated on 2 tasks, 2 base evaluations, merge, bundle.
        #expect(g.stages.count == 6 + 2 + 24 + 2 + 24 + 4 + 2 + 2)
        let merge = try #require(g.node(StageID(.merge)))
        #expect(merge.dependencies.filter { $0.kind == .evaluate }.count == 24 + 4 + 2)
    }

    /// lora-wide's rank is the LoRA rank nearest SiRA's parameter count on this base, by hand:
    /// head dim 16; q 32→32, v 32→16, up 32→48, down 48→32. SiRA (r 2, E 3), per layer:
    /// q 3·(2·64 + 32) = 480, v 3·(2·48 + 32) = 384, up 3·(2·80 + 32) = 576, down 3·(2·80 + 48) = 624,
    /// 2064 per layer, 4128 in all. LoRA per rank: (64 + 48 + 80 + 80)·2 = 544; 7 ranks are 320
    /// under, 8 ranks 224 over: rank 8, alpha 4·8/2 = 16 (alpha / r kept).
    @Test func theWideLoRAGetsTheRankMatchingSiRAsParameters() throws {
        let tw = TempWorkspace()
        let m = try ManifestLoader.parse(yaml: Self.yaml, file: "cmp.yaml")
        let stages = try PipelinePlanner.plan(m, tw.workspace)
        let wide = try #require(stages.compactMap { $0 as? TrainStage }.first { $0.id == StageID(.train, task: "a", variant: "lora-wide~s1") })
        #expect(wide.variant.r == 8 && wide.variant.loraAlpha == 16)
        #expect(wide.train.seed == 1)
        let lora = try #require(stages.compactMap { $0 as? TrainStage }.first { $0.id == StageID(.train, task: "b", variant: "lora~s0") })
        #expect(lora.variant.r == 2 && lora.train.seed == 0)
        let mt = try #require(stages.compactMap { $0 as? TrainStage }.first { $0.id == StageID(.train, variant: "multitask~s0") })
        #expect(mt.tasks == ["a", "b"] && mt.temperature == 3)
        // Same seed, same data order: the cache parameters of two arms differ only in the adapter.
        #expect(lora.train == stages.compactMap { $0 as? TrainStage }.first { $0.id == StageID(.train, task: "b", variant: "sira~s0") }!.train)
    }

    @Test func badComparisonsAreLocated() {
        let yaml = """
        name: p
        tasks: [{from: a.jsonl}]
        adapters: {sira: {r: 2}}
        compare:
          seeds: [1, 1]
          arms: [lora, dense]
          sira: {kind: lora, num_experts: 2, top_k: 2}
          lora: {r: 2, num_experts: 3}
          ablations: {top_k: [3], num_experts: [1], speed: [2]}
        """
        let errors = manifestErrors(yaml)
        func find(_ path: String) -> [String] { errors.filter { $0.keyPath.hasPrefix(path) }.map(\.problem) }
        #expect(find("compare.seeds").contains("lists a seed twice"))
        #expect(find("compare.arms").contains { $0.contains("'dense'") })
        #expect(find("compare.sira.kind") == ["not allowed here"])
        #expect(find("compare.lora.num_experts").first?.contains("unknown key") == true)
        #expect(find("compare.ablations.top_k").contains("top_k 3 is more than compare.sira.num_experts (2)"))
        #expect(find("compare.ablations.num_experts").contains("num_experts 1 is fewer than compare.sira.top_k (2)"))
        #expect(find("compare.ablations.speed").first?.contains("unknown key") == true)
        // A protocol arm may not shadow a variant of `adapters:`.
        #expect(errors.contains { $0.keyPath == "compare" && $0.problem.contains("'sira'") }, "\(errors.map(\.description))")
        #expect(errors.allSatisfy { $0.line > 0 }, "\(errors.map(\.description))")
    }
}
