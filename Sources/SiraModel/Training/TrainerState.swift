import Foundation
import SiraIO

/// The resumable state of a training run, as one safetensors file (so `safetensors` in Python
/// opens it too).
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
    var tensors: [(name: String, tensor: Tensor)]

    /// Writes atomically (temporary file in the same folder, fsync, rename).
    func write(to url: URL) throws {
        let rngJSON = String(decoding: try JSONEncoder().encode(rng.state), as: UTF8.self)
        try SafetensorsWriter.write(tensors, to: url, metadata: [
            "format": Self.format, "step": String(step), "rng": rngJSON, "cursor": cursorJSON, "config": configJSON,
        ])
    }

    /// Opens a state file and checks its metadata; tensors are read on demand from `file`.
    struct Loaded {
        var step: Int
        var rng: Xoshiro256
        var cursorJSON: String
        var configJSON: String
        var file: SafetensorsFile
    }

    static func read(from url: URL) throws -> Loaded {
        func bad(_ reason: String) -> TrainerError { .badState(path: url.path, reason: reason) }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(url) } catch { throw bad("\(error)") }
        let meta = file.metadata
        guard meta["format"] == format else { throw bad("not a trainer state (missing __metadata__.format = \(format))") }
        guard let step = meta["step"].flatMap(Int.init), step >= 0 else { throw bad("bad __metadata__.step") }
        guard let rngWords = meta["rng"].flatMap({ try? JSONDecoder().decode([UInt64].self, from: Data($0.utf8)) }),
              let rng = Xoshiro256(state: rngWords) else { throw bad("bad __metadata__.rng") }
        guard let cursor = meta["cursor"], let config = meta["config"] else { throw bad("missing __metadata__.cursor or config") }
        return Loaded(step: step, rng: rng, cursorJSON: cursor, configJSON: config, file: file)
    }
}
