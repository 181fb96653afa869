import Foundation
import SiraModel
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// `BaseIdentity`: tensors + normalised configuration, whatever files hold them. The fixture of
/// the GGUF model tests writes one tiny Llama as an HF folder and, with the PyPI `gguf` package, as
/// an F32 GGUF (Q/K rows permuted as llama.cpp does) and a Q8_0 GGUF with the HF folder of its
/// dequantised weights.
@Suite struct BaseIdentityTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SiraModelTests/Fixtures/gguf_model_fixture.py")

    @Test func sameWeightsInAnHFFolderAndAnF32GGUFHaveOneIdentity() throws {
        let tw = TempWorkspace("identity")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.fixture.path, tw.url.path, "--untied"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "python3 fixture: \(message)")

        let hf = try LlamaModel.load(huggingFaceFolder: tw.url.appendingPathComponent("hf"))
        let f32 = try LlamaModel.load(gguf: tw.url.appendingPathComponent("f32.gguf"))
        let q8 = try LlamaModel.load(gguf: tw.url.appendingPathComponent("q8_0.gguf"))
        let q8hf = try LlamaModel.load(huggingFaceFolder: tw.url.appendingPathComponent("q8_0-hf"))
        let id = try BaseIdentity.digest(model: hf)
        #expect(try BaseIdentity.digest(model: f32) == id)
        // A quantised file is the model of its dequantised weights: not the fp32 one.
        #expect(try BaseIdentity.digest(model: q8) == BaseIdentity.digest(model: q8hf))
        #expect(try BaseIdentity.digest(model: q8) != id)

        // Re-serialising the folder (config.json rewritten, other bytes) keeps it; changing one
        // weight or one setting that changes the computation does not.
        let resaved = tw.url.appendingPathComponent("resaved")
        try hf.saveHuggingFace(to: resaved)
        #expect(try BaseIdentity.digest(model: LlamaModel.load(huggingFaceFolder: resaved)) == id)
        var config = hf.config
        config.ropeTheta = 20000
        #expect(try BaseIdentity.digest(config: config, tensors: hf.parameters.map {
            ($0.name, $0.shape, UnsafeBufferPointer(start: $0.value.pointer, count: $0.value.count))
        }) != id)
        config = hf.config
        config.eosTokenIds = [7]
        config.maxPositionEmbeddings = 4096
        #expect(try BaseIdentity.digest(config: config, tensors: hf.parameters.map {
            ($0.name, $0.shape, UnsafeBufferPointer(start: $0.value.pointer, count: $0.value.count))
        }) == id, "token ids and the context limit are not part of the computed function")
        hf.layers[1].down.weight.value[0] = hf.layers[1].down.weight.value[0].nextUp
        #expect(try BaseIdentity.digest(model: hf) != id)
    }
}
