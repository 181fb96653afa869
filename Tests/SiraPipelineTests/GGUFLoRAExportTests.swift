import Foundation
import SiraIO
import SiraModel
import Testing
@testable import SiraPipeline
@testable import SiraStages

/// `export --gguf-lora`: a plain LoRA on a tiny GGUF base (llama, whose Q/K rows llama.cpp
/// permutes, and qwen2, whose it does not) written as llama.cpp's adapter layout; the PyPI `gguf`
/// package reads back names, shapes, types, alpha and values as intended (`gguf_lora_apply.py`),
/// and the base with the adapter folded in by numpy gives the logits the engine gave with the
/// adapter attached.
@Suite struct GGUFLoRAExportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SiraModelTests/Fixtures")
    static let lora = AdapterConfig(type: .lora, r: 3, loraAlpha: 6,
                                    targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])

    func python(_ args: [String], in folder: URL) throws {
        let py = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + args, in: folder).wait(timeout: 120)
        try #require(py.status == 0, "python3 \(args.first ?? ""): \(py.stderr)")
    }

    @Test(arguments: ["llama", "qwen2"]) func ggufLoRAReadsBackAndFoldsIntoTheBaseToTheSameLogits(arch: String) throws {
        try withTemporaryFolder { folder in
            try python([Self.fixtures.appendingPathComponent("gguf_model_fixture.py").path, folder.path, "--untied", "--arch", arch], in: folder)
            let baseFile = folder.appendingPathComponent("q8_0.gguf")
            let model = try LlamaModel.load(gguf: baseFile)
            model.threads = 1
            let set = try MergeTests().randomAdapter(Self.lora, on: model, seed: 5)
            let tokens: [Int32] = [1, 17, 200, 3, 99, 5, 42, 7, 255, 0, 31, 64, 128, 9]
            let adapted = model.logits(tokens: tokens, batch: 2, seq: 7).array
            let weights = folder.appendingPathComponent("lora.safetensors")
            try SiraModel.AdapterFiles.write(set, to: weights)
            let out = folder.appendingPathComponent("out/lora.gguf")
            try GGUFLoRAExport.write(config: Self.lora, weights: weights, base: model.config, baseName: "tiny", to: out)

            let merged = folder.appendingPathComponent("merged.gguf")
            try python([Self.fixtures.appendingPathComponent("gguf_lora_apply.py").path, baseFile.path, out.path, weights.path, "6", merged.path], in: folder)
            let folded = try LlamaModel.load(gguf: merged)
            folded.threads = 1
            let again = folded.logits(tokens: tokens, batch: 2, seq: 7).array
            let diff = zip(adapted, again).map { abs($0 - $1) }.max()!
            let scale = adapted.map(abs).max()!
            #expect(diff <= 1e-5 * max(1, scale), "max |Δlogit| = \(diff)")

            #expect {
                try GGUFLoRAExport.write(config: MergeTests.sira, weights: weights, base: model.config, baseName: nil,
                                         to: folder.appendingPathComponent("sira.gguf"))
            } throws: { "\($0)".contains("only a plain LoRA") && "\($0)".contains("sira") }
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("sira.gguf").path))
        }
    }

    /// The command: a LoRA trained by a pipeline on a GGUF base exports with `--gguf-lora`, and the
    /// file holds exactly the PEFT export's weights in llama.cpp's layout (checked and folded by
    /// `gguf_lora_apply.py`); the folded base loads.
    @Test func exportCommandWritesTheAdapterOfAPipelinePackage() throws {
        let p = try TinyPipeline.small()
        let models = p.root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try python([Self.fixtures.appendingPathComponent("gguf_model_fixture.py").path, models.path, "--chat"], in: p.root)
        try p.tw.write("""
        name: tiny
        tasks:
          - {name: add, from: data/src/add.jsonl, eval_fraction: 0.2}
        base: {gguf: models/chat.gguf}
        adapters:
          lora: {r: 2}
        train: {steps: 2, batch: 2, seq_len: 48, warmup: 1, save_every: 2}
        retries: 0

        """, to: p.manifestPath)
        let run = try p.run()
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let package = "checkpoints/tiny/1/tiny-add-lora.sira"
        let exported = try p.command(["export", package, "--gguf-lora", "out/add.gguf", "--peft", "out/peft"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.contains("out/add.gguf"))
        let alpha = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: p.root.appendingPathComponent("out/peft/adapter_config.json"))) as? [String: Any])["lora_alpha"] as? Double
        try python([Self.fixtures.appendingPathComponent("gguf_lora_apply.py").path, "models/chat.gguf", "out/add.gguf",
                    "out/peft/adapter_model.safetensors", "\(try #require(alpha))", "out/merged.gguf"], in: p.root)
        _ = try LlamaModel.load(gguf: p.root.appendingPathComponent("out/merged.gguf"))
    }
}
