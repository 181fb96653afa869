import Foundation
import Testing
@testable import SiraModel

/// Builds a safetensors file byte by byte, so tests can make it wrong in precise ways.
private func rawFile(header: String, data: [UInt8], declaredLength: Int? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = UInt64(declaredLength ?? h.count)
    return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h + data
}

private func expectError(_ bytes: [UInt8], mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let dir = try scratchFolder("st")
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("weights.safetensors")
    try Data(bytes).write(to: url)
    do {
        let f = try SafetensorsFile(url)
        for e in f.entries { _ = try f.tensor(e.name) }
        Issue.record("no error for a bad file", sourceLocation: sourceLocation)
    } catch let error as SafetensorsError {
        let text = "\(error)"
        #expect(text.contains("weights.safetensors"), "\(text)", sourceLocation: sourceLocation)
        for m in mentions { #expect(text.contains(m), "\(text) should mention \(m)", sourceLocation: sourceLocation) }
    }
}

@Test func badFilesGiveErrorsNamingFileAndTensor() throws {
    let eight = [UInt8](repeating: 0, count: 8)
    // Truncated before the header length, and a header longer than the file.
    try expectError([1, 2, 3], mentions: ["8-byte"])
    try expectError(rawFile(header: "{}", data: [], declaredLength: 100), mentions: ["truncated"])
    // Data offsets past the end (a truncated data section).
    try expectError(rawFile(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#, data: eight),
                    mentions: ["'w'", "truncated"])
    // Size disagrees with dtype × shape.
    try expectError(rawFile(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight),
                    mentions: ["'w'", "needs 12 bytes"])
    // Overlapping tensors.
    try expectError(rawFile(header: #"{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                            data: eight), mentions: ["'b'", "overlaps", "'a'"])
    // Unknown dtype, reversed range, bad JSON, integer data read as floats.
    try expectError(rawFile(header: #"{"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, data: eight), mentions: ["'w'", "F33"])
    try expectError(rawFile(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: eight), mentions: ["'w'"])
    try expectError(rawFile(header: #"{"w":"#, data: eight), mentions: ["JSON"])
    try expectError(rawFile(header: #"{"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#, data: eight), mentions: ["'w'", "I32"])
}

@Test func readsF16AndBF16ExactlyAndRoundTrips() throws {
    let dir = try scratchFolder("st-ok")
    defer { try? FileManager.default.removeItem(at: dir) }
    // F16: 1.0, -2.5, smallest subnormal, 65504, -inf; BF16: 1.0, -3.0 (hand-computed bit patterns).
    let f16: [UInt16] = [0x3C00, 0xC100, 0x0001, 0x7BFF, 0xFC00]
    let bf16: [UInt16] = [0x3F80, 0xC040]
    var data: [UInt8] = []
    for v in f16 + bf16 { data += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    data += [0, 0]
    let header = #"{"__metadata__":{"k":"v"},"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[10,14]}}"#
    let url = dir.appendingPathComponent("x.safetensors")
    try Data(rawFile(header: header, data: data)).write(to: url)
    let f = try SafetensorsFile(url)
    #expect(f.metadata == ["k": "v"])
    #expect(try f.tensor("h", allowNonFinite: true).array == [1, -2.5, 0x1p-24, 65504, -.infinity])
    #expect { _ = try f.tensor("h") } throws: { "\($0)".contains("'h'") && "\($0)".contains("element 4 is -inf") }
    let b = try f.tensor("b")
    #expect(b.shape == [1, 2] && b.array == [1, -3])
    #expect(throws: SafetensorsError.self) { _ = try f.tensor("missing") }

    // Round trip through the writer, F32 exact and BF16 rounded to nearest even.
    let values: [Float] = [1, -0.1, 3.14159, 1e-30, 65504, 0x1.01p0, 0x1.03p0, 0x1.018p0]
    let t = Tensor(shape: [2, 4], values: values)
    let out = dir.appendingPathComponent("y.safetensors")
    try SafetensorsWriter.write([("a.weight", t), ("z", Tensor(shape: [0]))], to: out, metadata: ["format": "pt"])
    let back = try SafetensorsFile(out)
    #expect(try back.tensor("a.weight").array == values && back.metadata["format"] == "pt")
    #expect(try back.tensor("z").count == 0)
    try SafetensorsWriter.write([("a", t)], to: out, dtype: .bf16)
    let rounded = try SafetensorsFile(out).tensor("a").array
    // bf16 keeps 7 fraction bits: 1+2⁻⁸ is a tie → even (1); 1+3·2⁻⁸ is a tie → even (1+2⁻⁶);
    // 1+1.5·2⁻⁸ is nearer 1+2⁻⁷.
    #expect(rounded[5] == 1 && rounded[6] == 0x1.04p0 && rounded[7] == 0x1.02p0)
    #expect(rounded[0] == 1 && abs(rounded[2] - 3.14159) < 0.01)
    // The files only contain the published name: no temporary left behind.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["x.safetensors", "y.safetensors"])
}

@Test func configDecodesHFKeysAndRejectsWhatItCannotRun() throws {
    let json = #"""
    {"architectures":["LlamaForCausalLM"],"hidden_size":576,"intermediate_size":1536,"num_hidden_layers":30,
     "num_attention_heads":9,"num_key_value_heads":3,"vocab_size":49152,"rms_norm_eps":1e-05,"rope_theta":100000,
     "tie_word_embeddings":true,"max_position_embeddings":8192,"eos_token_id":0,"rope_scaling":null,"torch_dtype":"bfloat16",
     "unknown_thing":[1,{"a":2}]}
    """#
    let c = try JSONDecoder().decode(LlamaConfig.self, from: Data(json.utf8))
    #expect(c.headDim == 64 && c.numKeyValueHeads == 3 && c.tieWordEmbeddings && c.eosTokenIds == [0] && c.ropeScaling == nil)
    try c.validate()
    let again = try JSONDecoder().decode(LlamaConfig.self, from: JSONEncoder().encode(c))
    #expect(again == c)

    let dir = try scratchFolder("cfg")
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("config.json")
    try Data(#"{"hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,"vocab_size":10}"#.utf8).write(to: url)
    #expect(throws: LlamaConfigError.self) { _ = try LlamaConfig.load(from: url) }
    do { _ = try LlamaConfig.load(from: url) } catch { #expect("\(error)".contains("num_key_value_heads") && "\(error)".contains("config.json")) }
    try Data(#"{"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10}"#.utf8).write(to: url)
    do { _ = try LlamaConfig.load(from: url) } catch { #expect("\(error)".contains("intermediate_size")) }
    try Data(#"{"hidden_size":64,"intermediate_size":8,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10,"attention_bias":true}"#.utf8).write(to: url)
    do { _ = try LlamaConfig.load(from: url) } catch { #expect("\(error)".contains("attention_bias")) }
}
