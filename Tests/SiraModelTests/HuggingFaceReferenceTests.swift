import Foundation
import Testing
@testable import SiraModel

/// A random tiny Llama written in HF format by a Python fixture (numpy + `safetensors`, weights
/// in F32, F16 and BF16) must give the logits of the fixture's independent float64 numpy forward.
private struct Expected: Decodable {
    let batch: Int
    let seq: Int
    let tokens: [Int32]
    let logits: [Double]
}

private func fixture(_ flags: [String], seed: Int) throws -> (URL, Expected) {
    let dir = try scratchFolder("hf")
    try runPython([fixturesFolder.appendingPathComponent("tiny_llama_reference.py").path, dir.path,
                   "--seed", "\(seed)"] + flags)
    let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: dir.appendingPathComponent("expected.json")))
    return (dir, expected)
}

private func maxError(_ got: Tensor, _ want: [Double]) -> Double {
    var worst = 0.0
    for i in 0..<want.count { worst = max(worst, abs(Double(got[i]) - want[i]) / (1 + abs(want[i]))) }
    return worst
}

@Test(arguments: [["--tied"], [], ["--sharded"], ["--sharded", "--tied"], ["--rope-scaling", "llama3"]])
func logitsMatchTheNumpyReference(flags: [String]) throws {
    let (dir, expected) = try fixture(flags, seed: flags.joined().count)
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = try LlamaModel.load(huggingFaceFolder: dir)
    #expect(model.config.tieWordEmbeddings == flags.contains("--tied"))
    #expect(model.config.headDim == 8 && model.config.numKeyValueHeads == 2)
    #expect(model.config.eosTokenIds == [2, 3] && model.config.bosTokenId == 1)
    #expect(model.parameters.allSatisfy { !$0.isTrainable })
    let logits = model.logits(tokens: expected.tokens, batch: expected.batch, seq: expected.seq)
    #expect(logits.shape == [expected.batch * expected.seq, model.config.vocabSize])
    #expect(maxError(logits, expected.logits) < 2e-5)

    // The KV-cache path computes the same logits, token by token.
    let cache = model.makeKVCache(capacity: expected.seq)
    let row0 = expected.tokens.prefix(expected.seq).map(Int.init)
    let first = model.decode(Array(row0.prefix(4)), cache: cache, allLogits: true)
    var incremental = first.array
    for t in row0.dropFirst(4) { incremental += model.decode([t], cache: cache).array }
    let vocab = model.config.vocabSize
    #expect(maxError(Tensor(shape: [incremental.count], values: incremental),
                     Array(expected.logits.prefix(expected.seq * vocab))) < 2e-5)
}

@Test func savedFolderReloadsBitExactAndBF16RoundsToNearest() throws {
    let dir = try scratchFolder("save")
    defer { try? FileManager.default.removeItem(at: dir) }
    for tied in [false, true] {
        let model = tinyModel(tied: tied, seed: 3)
        let f32 = dir.appendingPathComponent("f32-\(tied)"), bf16 = dir.appendingPathComponent("bf16-\(tied)")
        try model.saveHuggingFace(to: f32)
        try model.saveHuggingFace(to: bf16, dtype: .bf16)
        let back = try LlamaModel.load(huggingFaceFolder: f32)
        #expect(back.config == model.config)
        #expect(try SafetensorsFile(f32.appendingPathComponent("model.safetensors")).names.contains("lm_head.weight") == !tied)
        for (a, b) in zip(model.parameters, back.parameters) {
            #expect(a.name == b.name && a.value.array == b.value.array)
        }
        let half = try LlamaModel.load(huggingFaceFolder: bf16)
        for (a, b) in zip(model.parameters, half.parameters) {
            for i in 0..<a.value.count {
                let x = a.value[i], y = b.value[i]
                // Nearest bf16: within half a unit in the last place (8 significant bits).
                #expect(abs(x - y) <= abs(x) * 0x1p-8)
            }
        }
    }
    // Another library reads what we wrote: the reference `safetensors` package.
    try runPython(["-c", """
        import sys; from safetensors.numpy import load_file
        t = load_file(sys.argv[1]); assert t['model.norm.weight'].shape == (20,), t.keys()
        assert len(t) == 1 + 9 * 2 + 1, len(t)
        """, dir.appendingPathComponent("f32-true/model.safetensors").path])
}

@Test func missingOrMisshapenWeightsNameTheTensor() throws {
    let dir = try scratchFolder("bad")
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = tinyModel(tied: false, seed: 4)
    try model.saveHuggingFace(to: dir)
    // Drop lm_head: an untied config needs it.
    let kept = model.parameters.filter { $0.name != "lm_head.weight" }
    try SafetensorsWriter.write(kept.map { ($0.name, $0.value) }, to: dir.appendingPathComponent("model.safetensors"))
    #expect(throws: HuggingFaceModelError.self) { _ = try LlamaModel.load(huggingFaceFolder: dir) }
    do { _ = try LlamaModel.load(huggingFaceFolder: dir) } catch { #expect("\(error)".contains("lm_head.weight")) }
    // A wrong shape.
    var swapped = model.parameters.map { ($0.name, $0.value) }
    swapped[1] = (swapped[1].0, Tensor(shape: [4]))
    try SafetensorsWriter.write(swapped, to: dir.appendingPathComponent("model.safetensors"))
    do {
        _ = try LlamaModel.load(huggingFaceFolder: dir)
        Issue.record("a misshapen tensor loaded")
    } catch {
        #expect("\(error)".contains("model.layers.0.input_layernorm.weight") && "\(error)".contains("[4]"))
    }
}
