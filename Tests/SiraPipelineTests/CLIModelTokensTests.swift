import Foundation
import SiraModel
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// `generate` and `score` on an HF folder with its own special-token files (`TinyHFFolder`), and an
/// HF-folder base through a whole run: linked as it is, identified by content.
@Suite(.serialized) struct CLIModelTokensTests {
    struct Generated: Decodable {
        struct Token: Decodable { var id: Int; var token: String }
        var ids: [Int]
        var prompt_ids: [Int]
        var stop_id: Int?
        var start_token: Token?
        var stop_tokens: [Token]
        var tokens_per_second: Double
        var load_seconds: Double
    }

    /// A model whose weights force one token: generation stops at once when that token is any id
    /// of generation_config.json's list, and runs to --max-tokens when it is not a stop id.
    @Test func generationStopsAtEachIdOfTheGenerationConfigList() throws {
        let tw = TempWorkspace("gen-stop")
        for forced in TinyHFFolder.stops + [257] {
            let folder = tw.url.appendingPathComponent("m\(forced)")
            try TinyHFFolder.write(to: folder, forcing: forced)
            let r = try ChildProcess(TinyPipeline.binary, ["generate", "--model", folder.lastPathComponent, "--prompt", "hi",
                                                          "--temperature", "0", "--max-tokens", "4", "--json"], in: tw.url).wait(timeout: 120)
            #expect(r.status == 0, "\(r.stderr)")
            let g = try JSONDecoder().decode(Generated.self, from: Data(r.stdout.utf8))
            // No start token (no template, no add_bos_token): the prompt is its two bytes.
            #expect(g.prompt_ids == [Int(UInt8(ascii: "h")), Int(UInt8(ascii: "i"))] && g.start_token == nil)
            #expect(g.stop_tokens.map(\.id) == TinyHFFolder.stops && g.stop_tokens.map(\.token) == ["<|endoftext|>", "<|im_end|>", "<|eot|>"])
            #expect(r.stderr.contains("start token: none added; generation stops at: <|endoftext|> (256), <|im_end|> (258), <|eot|> (259)"), "\(r.stderr)")
            #expect(r.stderr.contains("tokens/s") && r.stderr.contains("load "), "\(r.stderr)")
            if TinyHFFolder.stops.contains(forced) {
                #expect(g.ids.isEmpty && g.stop_id == forced, "forced \(forced): \(g.ids)")
            } else {
                #expect(g.ids == [forced, forced, forced, forced] && g.stop_id == nil, "forced \(forced): \(g.ids)")
            }
        }
    }

    /// A run on an HF-folder base: the base stage links the folder as it is (every file
    /// byte-identical, config.json not rewritten), the package names the base by the content of
    /// its tensors and configuration, so `score --model ORIGINAL --adapter PACKAGE` works on the
    /// folder the pipeline was given and on a re-serialised copy, and is refused for a folder
    /// with one weight changed.
    @Test func hfBaseIsLinkedAsGivenAndPackagesScoreOnTheOriginalFolder() throws {
        let p = try TinyPipeline.small()
        let source = p.root.appendingPathComponent("models/src")
        try TinyHFFolder.write(to: source, seed: 3)
        try p.tw.write("""
        name: tiny
        tasks:
          - {name: add, from: data/src/add.jsonl, eval_fraction: 0.2}
        tokenizer: {path: models/src/tokenizer.json}
        base: {hf: models/src}
        adapters:
          lora: {r: 2}
        train: {steps: 2, batch: 2, seq_len: 16, warmup: 1, save_every: 2}
        evaluate: {max_new_tokens: 3, max_examples: 2}
        retries: 0

        """, to: p.manifestPath)
        let run = try p.run()
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")

        // The base stage's output holds the source's files byte for byte.
        let store = try p.store()
        let runID = try #require(try store.runs().first).id
        let baseKey = try #require(try store.stages(run: runID).first { $0.stage == "base" }?.cacheKey)
        let output = p.workspace.stageCacheFolder(.base).appendingPathComponent(baseKey)
        for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "README.md"] {
            let a = try Data(contentsOf: source.appendingPathComponent(name)), b = try Data(contentsOf: output.appendingPathComponent(name))
            #expect(a == b, "\(name) differs from the source")
        }

        // The tokenizer stage followed the folder's rules: the trained completions end with <|im_end|>.
        let tokKey = try #require(try store.stages(run: runID).first { $0.stage == "tokenizer" }?.cacheKey)
        let rules = try String(contentsOf: p.workspace.stageCacheFolder(.tokenizer).appendingPathComponent("\(tokKey)/special_tokens.json"), encoding: .utf8)
        #expect(rules.contains("\"eosID\":258") && rules.contains("\"addBOS\":false"), "\(rules)")

        try p.tw.write("{\"text\": \"12+3=15\"}\n", to: "score.jsonl")
        let package = "checkpoints/tiny/1/tiny-add-lora.sira"
        #expect(p.exists(package))
        let original = try p.command(["score", "--model", "models/src", "--adapter", package, "--input", "score.jsonl", "--json"])
        #expect(original.status == 0, "\(original.stderr)")
        #expect(original.stderr.contains("adapter: tiny-add-lora.sira") && original.stdout.contains("\"start_token\": null"), "\(original.stdout)\n\(original.stderr)")

        // The same weights and configuration written again by our writer (fp32, config re-serialised): same base.
        let resaved = p.root.appendingPathComponent("models/resaved")
        try LlamaModel.load(huggingFaceFolder: source).saveHuggingFace(to: resaved)
        try FileManager.default.copyItem(at: source.appendingPathComponent("tokenizer.json"), to: resaved.appendingPathComponent("tokenizer.json"))
        #expect(try Data(contentsOf: resaved.appendingPathComponent("config.json")) != Data(contentsOf: source.appendingPathComponent("config.json")))
        let again = try p.command(["score", "--model", "models/resaved", "--adapter", package, "--input", "score.jsonl", "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.split(separator: "\n").first == original.stdout.split(separator: "\n").first)

        // One weight changed: another base, refused with the reason.
        let changed = p.root.appendingPathComponent("models/changed")
        let model = try LlamaModel.load(huggingFaceFolder: source)
        model.layers[0].q.weight.value[5] += 0.25
        try model.saveHuggingFace(to: changed)
        try FileManager.default.copyItem(at: source.appendingPathComponent("tokenizer.json"), to: changed.appendingPathComponent("tokenizer.json"))
        let refused = try p.command(["score", "--model", "models/changed", "--adapter", package, "--input", "score.jsonl"])
        #expect(refused.status != 0 && refused.stdout.isEmpty)
        #expect(refused.stderr.contains("is not the base these adapters were trained on") && refused.stderr.contains("--allow-other-base"), "\(refused.stderr)")
    }
}
