import Foundation
import SiraIO
import Testing
@testable import SiraModel

/// A tiny Llama written as an HF folder and as GGUF by the PyPI `gguf` package (Q/K rows permuted
/// as llama.cpp's converter does): identical logits from both, and a Q8_0 file gives exactly the
/// logits of its dequantised weights.
@Suite struct GGUFModelTests {
    func logits(_ model: LlamaModel) -> [Float] {
        let tokens: [Int32] = [1, 17, 200, 3, 99, 5, 42, 7, 255, 0, 31]
        model.threads = 1
        let t = model.logits(tokens: tokens, batch: 1, seq: tokens.count)
        return withExtendedLifetime(t) { Array(t.buffer) }
    }

    @Test(arguments: [false, true]) func ggufAndHuggingFaceFolderGiveTheSameLogits(untied: Bool) throws {
        let folder = try scratchFolder("gguf-model")
        defer { try? FileManager.default.removeItem(at: folder) }
        try runPython([fixturesFolder.appendingPathComponent("gguf_model_fixture.py").path, folder.path] + (untied ? ["--untied"] : []))
        let hf = try LlamaModel.load(huggingFaceFolder: folder.appendingPathComponent("hf"))
        let f32 = try LlamaModel.load(gguf: folder.appendingPathComponent("f32.gguf"))
        #expect(f32.config.tieWordEmbeddings == !untied && f32.config.numKeyValueHeads == 2 && f32.config.headDim == 16)
        for (a, b) in zip(hf.parameters, f32.parameters) {
            #expect(a.name == b.name && Array(a.value.buffer) == Array(b.value.buffer), "\(a.name)")
        }
        #expect(logits(hf) == logits(f32))
        let q8 = try LlamaModel.load(gguf: folder.appendingPathComponent("q8_0.gguf"))
        let q8hf = try LlamaModel.load(huggingFaceFolder: folder.appendingPathComponent("q8_0-hf"))
        #expect(logits(q8) == logits(q8hf))
        #expect(logits(q8) != logits(hf))
    }

    /// Qwen2 (q/k/v biases) and Qwen3 (q/k norms, head_dim 24 ≠ hidden/heads) GGUF files as
    /// llama.cpp writes them (rows not permuted) load to exactly the HF folder's weights; a Mistral
    /// folder's GGUF is a permuted `llama` file and computes what the folder computes.
    @Test(arguments: ["qwen2", "qwen3", "mistral"]) func ggufMatchesItsHuggingFaceFolder(arch: String) throws {
        let folder = try scratchFolder("gguf-\(arch)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try runPython([fixturesFolder.appendingPathComponent("gguf_model_fixture.py").path, folder.path, "--untied", "--arch", arch])
        let hf = try LlamaModel.load(huggingFaceFolder: folder.appendingPathComponent("hf"))
        let f32 = try LlamaModel.load(gguf: folder.appendingPathComponent("f32.gguf"))
        #expect(f32.config.modelType == (arch == "mistral" ? "llama" : arch) && hf.config.modelType == arch)
        #expect(f32.config.qkvBias == (arch == "qwen2") && f32.config.qkNorm == (arch == "qwen3"))
        #expect(f32.config.headDim == hf.config.headDim)
        #expect(hf.parameters.map(\.name) == f32.parameters.map(\.name))
        for (a, b) in zip(hf.parameters, f32.parameters) {
            #expect(a.name == b.name && Array(a.value.buffer) == Array(b.value.buffer), "\(a.name)")
        }
        #expect(logits(hf) == logits(f32))
        let q8 = try LlamaModel.load(gguf: folder.appendingPathComponent("q8_0.gguf"))
        let q8hf = try LlamaModel.load(huggingFaceFolder: folder.appendingPathComponent("q8_0-hf"))
        #expect(logits(q8) == logits(q8hf))
    }

    /// An architecture the engine does not compute, and a tensor no parameter takes, are refused
    /// with a sentence naming them.
    @Test func unknownArchitectureAndStrayTensorAreRefused() throws {
        let folder = try scratchFolder("gguf-refuse")
        defer { try? FileManager.default.removeItem(at: folder) }
        try runPython([fixturesFolder.appendingPathComponent("gguf_model_fixture.py").path, folder.path, "--arch", "qwen2", "--stray"])
        #expect {
            _ = try LlamaModel.load(gguf: folder.appendingPathComponent("f32.gguf"))
        } throws: { "\($0)".contains("blk.1.attn_sinks.weight") }
        #expect {
            _ = try LlamaModel.load(gguf: folder.appendingPathComponent("gemma.gguf"))
        } throws: { "\($0)".contains("'gemma'") && "\($0)".contains("qwen3") && "\($0)".contains("gemma.gguf") }
    }

    @Test func namesMapBothWays() {
        for name in ["blk.0.attn_q.weight", "blk.12.ffn_down.weight", "token_embd.weight", "output.weight",
                     "output_norm.weight", "blk.3.attn_k_norm.weight", "blk.1.attn_v.bias"] {
            let hf = GGUFTensorNames.huggingFace(name)
            #expect(hf != nil && GGUFTensorNames.gguf(hf!) == name, "\(name) → \(hf ?? "nil")")
        }
        #expect(GGUFTensorNames.huggingFace("blk.0.attn_qq.weight") == nil)
        #expect(GGUFTensorNames.huggingFace("rope_freqs.weight") == nil)
    }
}
