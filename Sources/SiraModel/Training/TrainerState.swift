import Foundation
import SiraIO

/// The resumable state of a training run, as one file in the safetensors layout (8-byte
/// little-endian header length, JSON header, raw little-endian fp32), so `safetensors` in Python
/// can open it too.
///
/// Tensors: every trainable parameter under its own name, its AdamW moments under
/// `<name>::adam_m` and `<name>::adam_v`. `__metadata__` (strings, as safetensors requires):
/// `format` = `sira-trainer-state/1`, `step`, `rng` (the four xoshiro words, JSON), `cursor` (the
/// batch source's cursor, JSON), `config` (the `TrainerConfig`, JSON).
struct TrainerState {
    static let format = "sira-trainer-state/1"

    var step: Int
    var rng: Xoshiro256
    var cursorJSON: String
    var configJSON: String
    /// name → values, for parameters and moments.
    var tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)]

    /// Writes atomically (temporary file in the same folder, fsync, rename).
    func write(to url: URL) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for t in tensors {
            let bytes = t.values.count * 4
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        let rngJSON = String(decoding: try JSONEncoder().encode(rng.state), as: UTF8.self)
        header["__metadata__"] = ["format": Self.format, "step": String(step), "rng": rngJSON,
                                  "cursor": cursorJSON, "config": configJSON]
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var length = UInt64(json.count).littleEndian
        try AtomicFile.write(to: url) { handle in
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.write(contentsOf: json)
            for t in tensors {
                // fp32 in memory is little-endian on every platform Swift targets here.
                try handle.write(contentsOf: Data(buffer: t.values))
            }
        }
    }

    /// What a read returns: metadata plus a name → (shape, values) table.
    struct Loaded {
        var step: Int
        var rng: Xoshiro256
        var cursorJSON: String
        var configJSON: String
        var tensors: [String: (shape: [Int], values: [Float])]
    }

    static func read(from url: URL) throws -> Loaded {
        func bad(_ reason: String) -> TrainerError { .badState(path: url.path, reason: reason) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw bad("cannot read: \(error.localizedDescription)") }
        guard data.count >= 8 else { throw bad("truncated: \(data.count) bytes, no header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else { throw bad("truncated: header of \(headerLength) bytes in a \(data.count)-byte file") }
        let headerEnd = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        guard let meta = header["__metadata__"] as? [String: String], meta["format"] == format else {
            throw bad("not a trainer state (missing __metadata__.format = \(format))")
        }
        guard let step = meta["step"].flatMap(Int.init), step >= 0 else { throw bad("bad __metadata__.step") }
        guard let rngWords = meta["rng"].flatMap({ try? JSONDecoder().decode([UInt64].self, from: Data($0.utf8)) }),
              let rng = Xoshiro256(state: rngWords) else { throw bad("bad __metadata__.rng") }
        guard let cursor = meta["cursor"], let config = meta["config"] else { throw bad("missing __metadata__.cursor or config") }
        let payload = data.count - headerEnd
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], entry["dtype"] as? String == "F32",
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw bad("tensor '\(name)': expected dtype F32 with shape and data_offsets")
            }
            let count = shape.reduce(1, *)
            guard offsets[0] >= 0, offsets[1] - offsets[0] == count * 4, offsets[1] <= payload else {
                throw bad("tensor '\(name)': data_offsets \(offsets) do not fit shape \(shape) in a \(payload)-byte payload")
            }
            var values = [Float](repeating: 0, count: count)
            _ = values.withUnsafeMutableBytes { dst in
                data.copyBytes(to: dst, from: (headerEnd + offsets[0])..<(headerEnd + offsets[1]))
            }
            tensors[name] = (shape, values)
        }
        return Loaded(step: step, rng: rng, cursorJSON: cursor, configJSON: config, tensors: tensors)
    }
}
