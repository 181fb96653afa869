import Foundation
import SiraData
import Testing
@testable import SiraPipeline
@testable import SiraStages

/// `base: {gguf: FILE}`: a GGUF file written by the PyPI `gguf` package (a tiny Llama with a
/// byte-level vocabulary, `<|im_end|>` as its end token and a ChatML chat template) is the base
/// of a whole run: its tokenizer and template come from the file, examples go through the template,
/// the file is linked as it is, and the package it makes scores on the original file.
@Suite(.serialized) struct GGUFBasePipelineTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SiraModelTests/Fixtures/gguf_model_fixture.py")

    /// The fixture's vocabulary: ids 0-255 are the bytes, then four special tokens.
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|eot|>"]
    static func text(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids { if id < 256 { bytes.append(UInt8(id)) } else { bytes += Array(specials[Int(id) - 256].utf8) } }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func aGGUFBaseRunsThroughItsChatTemplateAndItsPackageScoresOnTheFile() throws {
        let p = try TinyPipeline.small()
        let models = p.root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        let py = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", Self.fixture.path, models.path, "--chat"], in: p.root).wait(timeout: 120)
        try #require(py.status == 0, "python3 fixture: \(py.stderr)")
        try p.tw.write("""
        name: tiny
        tasks:
          - {name: add, from: data/src/add.jsonl, eval_fraction: 0.2}
        base: {gguf: models/chat.gguf}
        adapters:
          lora: {r: 2}
        train: {steps: 2, batch: 2, seq_len: 48, warmup: 1, save_every: 2}
        evaluate: {max_new_tokens: 3, max_examples: 2, exact_match: true}
        retries: 0

        """, to: p.manifestPath)
        let run = try p.run()
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")

        let store = try p.store()
        let runID = try #require(try store.runs().first).id
        let stages = try store.stages(run: runID)
        func output(_ stage: String, _ kind: StageKind) throws -> URL {
            let key = try #require(stages.first { $0.stage == stage }?.cacheKey, "no stage \(stage)")
            return p.workspace.stageCacheFolder(kind).appendingPathComponent(key)
        }

        // The base stage holds the file itself (a hard link where the file system allows it).
        let linked = try output("base", .base).appendingPathComponent("model.gguf")
        #expect(try Data(contentsOf: linked) == Data(contentsOf: models.appendingPathComponent("chat.gguf")))
        #expect(!FileManager.default.fileExists(atPath: try output("base", .base).appendingPathComponent("config.json").path))

        // Every training example is the ChatML rendering of one row: the user turn holds the
        // prompt, the scored tokens are exactly the answer and the end token.
        let shard = try TokenShard(try output("tokenize@add", .tokenize).appendingPathComponent("train"))
        #expect(shard.count == 24)
        let pattern = try Regex(#"^<\|im_start\|>user\n(\d+)\+(\d+)=<\|im_end\|>\n<\|im_start\|>assistant\n(\d+)<\|im_end\|>$"#)
        for i in 0 ..< shard.count {
            let e = shard[i]
            let whole = Self.text(e.tokens)
            let match = try #require(try pattern.wholeMatch(in: whole), "example \(i): \(whole.debugDescription)")
            let a = Int(match.output[1].substring!)!, b = Int(match.output[2].substring!)!, c = Int(match.output[3].substring!)!
            #expect(a + b == c)
            let scored = zip(e.tokens, e.mask).filter { $0.1 == 1 }.map(\.0)
            #expect(Self.text(scored) == "\(c)<|im_end|>", "example \(i)")
        }

        // The package names the base by content: score on the original GGUF file accepts it.
        try p.tw.write("{\"prompt\": \"12+5=\", \"completion\": \"17\"}\n", to: "score.jsonl")
        let package = "checkpoints/tiny/1/tiny-add-lora.sira"
        #expect(p.exists(package))
        let scored = try p.command(["score", "--model", "models/chat.gguf", "--adapter", package, "--input", "score.jsonl", "--json"])
        #expect(scored.status == 0, "\(scored.stderr)")
        #expect(scored.stderr.contains("adapter: tiny-add-lora.sira"), "\(scored.stderr)")
        // And the base stage's output folder works as --model too.
        let viaFolder = try p.command(["score", "--model", try output("base", .base).path, "--adapter", package, "--input", "score.jsonl", "--json"])
        #expect(viaFolder.status == 0, "\(viaFolder.stderr)")

        // generate renders the prompt through the file's template and stops at <|im_end|> or the limit.
        let generated = try p.command(["generate", "--model", "models/chat.gguf", "--prompt", "12+5=", "--temperature", "0",
                                       "--max-tokens", "3", "--json"])
        #expect(generated.status == 0, "\(generated.stderr)")
        let ids = try #require(try JSONSerialization.jsonObject(with: Data(generated.stdout.utf8)) as? [String: Any])
        let promptIDs = try #require(ids["prompt_ids"] as? [Int]).map(Int32.init)
        #expect(Self.text(promptIDs) == "<|im_start|>user\n12+5=<|im_end|>\n<|im_start|>assistant\n")
        #expect(ids["template"] as? String == "chat")
    }

    /// A missing file and a file that is not GGUF are refused naming the key and the file.
    @Test func aMissingOrBrokenGGUFBaseFailsNamingIt() throws {
        let p = try TinyPipeline.small()
        try p.tw.write("not a gguf file", to: "models/broken.gguf")
        for (file, phrase) in [("models/absent.gguf", "no such file"), ("models/broken.gguf", "broken.gguf")] {
            try p.tw.write("""
            name: tiny
            tasks:
              - {name: add, from: data/src/add.jsonl, eval_fraction: 0.2}
            base: {gguf: \(file)}
            adapters:
              lora: {r: 2}
            train: {steps: 1, batch: 2, seq_len: 16, warmup: 0}
            retries: 0

            """, to: p.manifestPath)
            let run = try p.run()
            #expect(run.status != 0)
            let all = run.stdout + run.stderr
            #expect(all.contains("base.gguf") && all.contains(phrase), "\(all)")
        }
    }
}
