import Foundation
import SiraPipeline
import SiraIO
import SiraModel

/// The identity of a base model as packages record it (`manifest.base.sha256`): SHA-256 over its
/// normalised configuration and the content of its tensors, not over the bytes of its files.
///
/// - Tensors: every base parameter under its HF name (sorted by name), with its shape and its
///   values as the engine computes with them (fp32, little-endian). So a bf16 folder, the same
///   folder re-serialised, and a GGUF file whose tensors dequantise to the same values (an F32
///   GGUF of the same weights: the Q/K rows are un-permuted at load) have one identity; one
///   changed weight gives another.
/// - Configuration: `LlamaConfig` as the engine reads it (floats as parsed, defaults filled),
///   without what does not change the computed function: token ids (`bos_token_id`,
///   `eos_token_id`: the tokenizer's business), `max_position_embeddings` (a limit, not a value),
///   and the file-format keys `torch_dtype` and `architectures`.
///
/// Packages made before this identity recorded the digest of the base stage's `config.json` and
/// `model.safetensors` files (`fileDigest`); `check` still accepts a folder that matches that way.
public enum BaseIdentity {
    public static let version = "sira-base-identity v1"
    /// Config keys that do not enter the identity (see above).
    static let ignoredConfigKeys = ["bos_token_id", "eos_token_id", "max_position_embeddings", "torch_dtype", "architectures"]

    /// The identity of named fp32 tensors and a configuration (any JSON-encodable object; its
    /// keys in `ignoredConfigKeys` are left out). The one function every base format goes through.
    public static func digest(config: some Encodable, tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)]) throws -> String {
        var h = ContentHasher()
        h.update("\(version)\nconfig \(try normalisedConfig(config))\n")
        for t in tensors.sorted(by: { $0.name < $1.name }) {
            h.update("tensor \(t.name) \(t.shape.map(String.init).joined(separator: "x")) \(t.values.count)\n")
            // fp32 little-endian, the bytes the engine computes with (every supported host is little-endian).
            h.update(raw: UnsafeRawBufferPointer(t.values))
        }
        return h.finalize()
    }

    /// The identity of a loaded model (adapters are not part of it).
    public static func digest(model: LlamaModel) throws -> String {
        try digest(config: model.config, tensors: model.parameters.map {
            ($0.name, $0.shape, UnsafeBufferPointer(start: $0.value.pointer, count: $0.value.count))
        })
    }

    /// The configuration as canonical JSON: sorted keys, ignored keys dropped.
    static func normalisedConfig(_ config: some Encodable) throws -> String {
        let encoded = try JSONEncoder().encode(config)
        guard var object = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] else {
            throw PackageUseError("a base configuration must encode as a JSON object")
        }
        for key in ignoredConfigKeys { object.removeValue(forKey: key) }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The identity a base stage output records (`info["identity"]`), else computed by loading it
    /// (outputs cached before the identity was recorded).
    public static func of(baseOutput: StageOutput) throws -> String {
        if let id = baseOutput.info["identity"] { return id }
        return try digest(model: LlamaModel.load(model: baseOutput.folder))
    }

    /// The identity packages made before `version` recorded: the digest of `config.json` and
    /// `model.safetensors` (names, sizes and SHA-256s, `StageOutput.digest`); nil when the folder
    /// lacks either file.
    public static func fileDigest(folder: URL) throws -> String? {
        var list: [StageOutput.File] = []
        for name in ["config.json", "model.safetensors"] {
            let url = folder.appendingPathComponent(name)
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: url.path), let size = attrs[.size] as? NSNumber else { return nil }
            list.append(StageOutput.File(path: name, bytes: size.int64Value, sha256: try ContentHash.sha256(file: url)))
        }
        return StageOutput.digest(files: list, external: [])
    }

    /// The base stage output in `workspace` whose identity is `sha256`, if it is still in the cache.
    public static func locate(_ sha256: String, workspace: Workspace) -> URL? {
        let folder = workspace.stageCacheFolder(.base)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return nil }
        for name in names.sorted() where !name.hasPrefix(".") && !name.hasSuffix(".work") {
            let candidate = folder.appendingPathComponent(name)
            if let out = StageOutput.loadIfComplete(folder: candidate, workspace: workspace),
               out.info["identity"] == sha256 || out.digest == sha256 {
                return candidate
            }
        }
        return nil
    }

    /// Throws unless `model` (loaded from `source`) is the base `expected` names, saying both
    /// identities. A package from before the content identity is checked against the files.
    public static func check(model: LlamaModel, source: URL, expected: String, baseName: String) throws {
        let actual = try digest(model: model)
        if actual == expected { return }
        if let files = try? fileDigest(folder: source), files == expected { return }
        throw PackageUseError("\(source.path) is not the base these adapters were trained on: the package names \(baseName) with identity \(expected.prefix(16))…, the weights and configuration of \(source.lastPathComponent) give \(actual.prefix(16))… (a different model, or changed weights)")
    }

    /// `check` for a folder not yet loaded.
    public static func check(folder: URL, expected: String, baseName: String) throws {
        if let files = try? fileDigest(folder: folder), files == expected { return }
        try check(model: LlamaModel.load(model: folder), source: folder, expected: expected, baseName: baseName)
    }
}
