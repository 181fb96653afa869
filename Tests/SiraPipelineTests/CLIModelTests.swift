import Foundation
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// `score` and `generate` with the model options they share (`--model`, `--adapter`, `--task`,
/// `--threads`), on the base and packages a tiny run produced.
@Suite(.serialized) struct CLIModelTests {
    /// An HF model folder: the run's base (config + weights) with its tokenizer beside it.
    func modelFolder(_ p: TinyPipeline) throws -> String {
        let store = try p.store()
        let run = try #require(try store.runs().first)
        let stages = try store.stages(run: run.id)
        let base = try #require(stages.first { $0.stage == "base" }?.cacheKey)
        let tokenizer = try #require(stages.first { $0.stage == "tokenizer" }?.cacheKey)
        let fm = FileManager.default
        let folder = p.root.appendingPathComponent("model")
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try fm.copyItem(at: p.workspace.stageCacheFolder(.base).appendingPathComponent("\(base)/\(name)"), to: folder.appendingPathComponent(name))
        }
        try fm.copyItem(at: p.workspace.stageCacheFolder(.tokenizer).appendingPathComponent("\(tokenizer)/tokenizer.json"),
                        to: folder.appendingPathComponent("tokenizer.json"))
        return "model"
    }

    struct Scored: Decodable {
        var nll: Double?
        var tokens: Int
        var summary: Bool?
        var lines: Int?
        var mean_nll: Double?
        var perplexity: Double?
    }

    func scores(_ r: ChildProcess.Result) throws -> [Scored] {
        #expect(r.status == 0, "\(r.stderr)")
        return try r.stdout.split(separator: "\n").map { try JSONDecoder().decode(Scored.self, from: Data($0.utf8)) }
    }

    @Test func scoreAndGenerateTakeTheSharedModelOptions() throws {
        let p = try TinyPipeline.small()
        #expect(try p.run().status == 0)
        let model = try modelFolder(p)
        try p.tw.write("{\"ids\": [1, 5, 9, 33, 7]}\n\n{\"ids\": [2, 40, 41]}\n{\"text\": \"reverse stone\"}\n", to: "score.jsonl")
        let lora = "checkpoints/tiny/1/tiny-add-lora.sira", bundle = "checkpoints/tiny/1/tiny-bundle.sira"

        let plain = try scores(try p.command(["score", "--model", model, "--input", "score.jsonl", "--json"]))
        #expect(plain.count == 4)
        #expect(plain[0].tokens == 4 && plain[1].tokens == 2)  // every id after the first
        let summary = try #require(plain.last)
        let lines = plain.dropLast()
        let total = lines.reduce(0) { $0 + $1.tokens }
        let sum = lines.reduce(0.0) { $0 + ($1.nll ?? .nan) }
        #expect(summary.summary == true && summary.lines == 3 && summary.tokens == total)
        #expect(abs(try #require(summary.mean_nll) - sum / Double(total)) < 1e-12)
        #expect(abs(try #require(summary.perplexity) - exp(sum / Double(total))) < 1e-9 * exp(sum / Double(total)))

        // The run publishes its base beside its packages, with the tokenizer: the same folder as
        // the one assembled by hand above, so the same scores.
        #expect(try CheckpointIndex.latest(workspace: p.workspace, pipeline: "tiny")?.base == "checkpoints/tiny/1/base")
        let published = try scores(try p.command(["score", "--model", "checkpoints/tiny/1/base", "--input", "score.jsonl", "--json"]))
        #expect(published.count == plain.count && zip(published, plain).allSatisfy { $0.nll == $1.nll && $0.tokens == $1.tokens })

        // A bad line stops the command before anything is printed, naming the file and line.
        try p.tw.write("{\"ids\": [1, 5, 9]}\n{\"ids\": [2, 999999]}\n", to: "bad.jsonl")
        let bad = try p.command(["score", "--model", model, "--input", "bad.jsonl"])
        #expect(bad.status != 0 && bad.stdout.isEmpty, "\(bad.stdout)")
        #expect(bad.stderr.contains("bad.jsonl:2: token id 999999 outside the model's vocabulary"), "\(bad.stderr)")

        // One thread or two: the same scores (the kernels split work, not the sums' meaning).
        let oneThread = try scores(try p.command(["score", "--model", model, "--input", "score.jsonl", "--json", "--threads", "1"]))
        for (a, b) in zip(plain.dropLast(), oneThread.dropLast()) { #expect(abs(a.nll! - b.nll!) <= 1e-5 * abs(a.nll!)) }

        // The add adapter changes the scores, and is the same whether taken from its package or from the bundle.
        let adapted = try p.command(["score", "--model", model, "--input", "score.jsonl", "--json", "--adapter", lora])
        #expect(adapted.stderr.contains("adapter: tiny-add-lora.sira: adapter lora (lora, tasks add)"), "\(adapted.stderr)")
        let viaPackage = try scores(adapted)
        let viaBundle = try scores(try p.command(["score", "--model", model, "--input", "score.jsonl", "--json", "--adapter", bundle, "--task", "add"]))
        #expect(zip(viaPackage, plain).contains { $0.nll != $1.nll })
        #expect(zip(viaPackage, viaBundle).allSatisfy { $0.nll == $1.nll && $0.tokens == $1.tokens })

        let noTask = try p.command(["score", "--model", model, "--input", "score.jsonl", "--adapter", bundle])
        #expect(noTask.status != 0 && noTask.stderr.contains("choose one with --task (add, rev)"), "\(noTask.stderr)")
        for command in [["score", "--input", "score.jsonl"], ["generate", "--prompt", "3+4="]] {
            let taskAlone = try p.command(command + ["--model", model, "--task", "add"])
            #expect(taskAlone.status != 0 && taskAlone.stderr.contains("--task selects an adapter in a .sira bundle given as --adapter"), "\(taskAlone.stderr)")
            let noModel = try p.command(command)
            #expect(noModel.status != 0 && noModel.stderr.contains("--model"), "\(noModel.stderr)")
        }

        // Greedy generation with the same adapter from either source gives the same text.
        let greedy = ["generate", "--model", model, "--prompt", "3+4=", "--temperature", "0", "--max-tokens", "5", "--threads", "1"]
        let fromPackage = try p.command(greedy + ["--adapter", lora])
        let fromBundle = try p.command(greedy + ["--adapter", bundle, "--task", "add"])
        #expect(fromPackage.status == 0 && fromBundle.status == 0, "\(fromPackage.stderr)\(fromBundle.stderr)")
        #expect(fromPackage.stdout == fromBundle.stdout && !fromPackage.stdout.isEmpty)
        #expect(fromBundle.stderr.contains("adapter: tiny-bundle.sira: adapter add.lora (lora, tasks add)"))
    }
}
