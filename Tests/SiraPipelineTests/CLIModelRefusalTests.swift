import Foundation
import SiraIO
import SiraModel
import Testing
@testable import SiraPipeline

/// `score` and `generate` refuse, naming it, a model folder with a tensor the engine would not use
/// or a config key it does not implement (a silently mis-computed model is worse than an error),
/// and score a Qwen-family folder (biases, head norms) like the in-process engine.
@Suite(.serialized) struct CLIModelRefusalTests {
    @Test func unusedTensorsAndUnknownConfigKeysStopScoreAndGenerate() throws {
        let p = try TinyPipeline.small()
        let config = LlamaConfig(hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1, numAttentionHeads: 2,
                                 headDim: 6, vocabSize: 50, maxPositionEmbeddings: 32, modelType: "qwen3", attentionBias: true)
        let model = LlamaModel(config: config, seed: 3)
        let folder = p.root.appendingPathComponent("qwen")
        try model.saveHuggingFace(to: folder)
        try p.tw.write("{\"ids\": [1, 5, 9, 33, 7]}\n", to: "score.jsonl")

        // The folder as written scores exactly as the engine does in process.
        let ok = try p.command(["score", "--model", "qwen", "--input", "score.jsonl", "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let first = try #require(ok.stdout.split(separator: "\n").first)
        let line = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]
        let expected = model.loss(TokenBatch(sequence: [1, 5, 9, 33, 7])).nllSum
        #expect(abs((line?["nll"] as? Double ?? .nan) - expected) <= 1e-6 * expected)

        // An extra tensor: refused by name, by both commands.
        let weights = folder.appendingPathComponent("model.safetensors")
        try SafetensorsWriter.write(model.parameters.map { ($0.name, $0.value) } + [("model.layers.0.mlp.up_proj.bias", Tensor(shape: [24]))],
                                    to: weights)
        for args in [["score", "--model", "qwen", "--input", "score.jsonl"], ["generate", "--model", "qwen", "--prompt", "hi"]] {
            let r = try p.command(args)
            #expect(r.status != 0 && r.stderr.contains("model.layers.0.mlp.up_proj.bias"), "\(args[0]): \(r.stderr)")
        }
        // An unimplemented config key: refused naming the key and the file.
        try SafetensorsWriter.write(model.parameters.map { ($0.name, $0.value) }, to: weights)
        let configURL = folder.appendingPathComponent("config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        json["num_experts_per_tok"] = 2
        try JSONSerialization.data(withJSONObject: json).write(to: configURL)
        let r = try p.command(["score", "--model", "qwen", "--input", "score.jsonl"])
        #expect(r.status != 0 && r.stderr.contains("num_experts_per_tok") && r.stderr.contains("config.json"), "\(r.stderr)")
    }

    /// Training sequences longer than a Mistral base's sliding window would not be computed as the
    /// base was trained (the engine applies no window): the train stage refuses, naming both.
    @Test func trainingBeyondTheSlidingWindowIsRefused() throws {
        let p = try TinyPipeline.small()
        #expect(try p.run().status == 0)
        let store = try p.store()
        let run = try #require(try store.runs().first)
        let stages = try store.stages(run: run.id)
        let base = try #require(stages.first { $0.stage == "base" }?.cacheKey)
        let tokenizer = try #require(stages.first { $0.stage == "tokenizer" }?.cacheKey)
        let fm = FileManager.default
        let folder = p.root.appendingPathComponent("models/windowed")
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        try fm.copyItem(at: p.workspace.stageCacheFolder(.base).appendingPathComponent("\(base)/model.safetensors"),
                        to: folder.appendingPathComponent("model.safetensors"))
        try fm.copyItem(at: p.workspace.stageCacheFolder(.tokenizer).appendingPathComponent("\(tokenizer)/tokenizer.json"),
                        to: folder.appendingPathComponent("tokenizer.json"))
        let configURL = p.workspace.stageCacheFolder(.base).appendingPathComponent("\(base)/config.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        json["model_type"] = "mistral"
        json["architectures"] = ["MistralForCausalLM"]
        json["attention_bias"] = nil
        json["mlp_bias"] = nil
        json["sliding_window"] = 8
        try JSONSerialization.data(withJSONObject: json).write(to: folder.appendingPathComponent("config.json"))
        let manifest = try String(contentsOf: p.workspace.resolve(p.manifestPath), encoding: .utf8)
        let lines = manifest.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let edited = lines.filter { !$0.hasPrefix("tokenizer:") }
            .map { $0.hasPrefix("base:") ? "base: {hf: models/windowed}" : $0 }.joined(separator: "\n")
        try p.tw.write(edited, to: p.manifestPath)
        let r = try p.run()
        #expect(r.status != 0)
        let text = r.stdout + r.stderr
        #expect(text.contains("seq_len 16") && text.contains("sliding_window is 8"), "\(text)")
    }
}
