import Foundation
import SiraIO

/// Hugging Face model folders: `config.json` plus `model.safetensors`, or shards listed in
/// `model.safetensors.index.json` (`weight_map`: tensor name → shard file). The tokenizer
/// (`tokenizer.json`) is read by SiraData; this file only handles the weights.
extension LlamaModel {
    /// Loads a Llama-family model from an HF folder. Every base parameter must be present with
    /// its exact shape (`lm_head.weight` may be absent only when embeddings are tied, and when
    /// present with tied embeddings must equal `embed_tokens`). Any other tensor is an error naming
    /// it — an unused weight means the model would be mis-computed — except the buffers in
    /// `harmlessTensorSuffixes`. F32/F16/BF16 become fp32. The loaded weights are frozen (adapter
    /// training); call `setTrainable(true)` to train them.
    public static func load(huggingFaceFolder folder: URL) throws -> LlamaModel {
        let config = try LlamaConfig.load(from: folder.appendingPathComponent("config.json"))
        let model = LlamaModel(config: config)
        let sources = try HuggingFaceWeights(folder: folder)
        for p in model.parameters {
            guard let (file, entry) = sources.locate(p.name) else {
                throw HuggingFaceModelError.missingTensor(folder: folder.path, tensor: p.name, in: sources.description)
            }
            guard entry.shape == p.shape else {
                throw SafetensorsError(path: file.url.path, tensor: p.name,
                                       reason: "shape \(entry.shape) does not match the config's \(p.shape)")
            }
            try file.read(entry, into: p.value.pointer)
        }
        let used = Set(model.parameters.map(\.name))
        for name in sources.names.sorted() where !used.contains(name) {
            if harmlessTensorSuffixes.contains(where: { name.hasSuffix($0) }) { continue }
            if name == "lm_head.weight", config.tieWordEmbeddings, let (file, entry) = sources.locate(name),
               entry.shape == model.embedTokens.shape {
                let head = Tensor(shape: entry.shape)
                try file.read(entry, into: head.pointer)
                if head.array == model.embedTokens.value.array { continue }
                throw HuggingFaceModelError.unusedTensor(folder: folder.path, tensor: name,
                                                         reason: "tie_word_embeddings is true but it differs from model.embed_tokens.weight")
            }
            throw HuggingFaceModelError.unusedTensor(folder: folder.path, tensor: name,
                                                     reason: "the \(config.modelType) engine does not use it (the model would be mis-computed)")
        }
        return model
    }

    /// Buffers some checkpoints carry that hold no weights the computation needs (RoPE's inverse
    /// frequencies are recomputed from the config).
    static let harmlessTensorSuffixes = [".rotary_emb.inv_freq"]

    /// Writes `config.json` and `model.safetensors` (F32, or BF16 to halve the size) into
    /// `folder`, each atomically. Tied models store no `lm_head.weight`, as HF does.
    public func saveHuggingFace(to folder: URL, dtype: SafetensorsDType = .f32, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var meta = metadata
        meta["format"] = meta["format"] ?? "pt"
        try SafetensorsWriter.write(parameters.map { ($0.name, $0.value) },
                                    to: folder.appendingPathComponent("model.safetensors"), dtype: dtype, metadata: meta)
        try config.save(to: folder.appendingPathComponent("config.json"))
    }
}

/// The safetensors files of an HF folder and which one holds each tensor.
struct HuggingFaceWeights: CustomStringConvertible {
    private var files: [SafetensorsFile] = []
    private var owner: [String: Int] = [:]
    let description: String

    init(folder: URL) throws {
        let fm = FileManager.default
        let single = folder.appendingPathComponent("model.safetensors")
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: single.path) {
            let f = try SafetensorsFile(single)
            files = [f]
            for name in f.names { owner[name] = 0 }
            description = "model.safetensors"
        } else if fm.fileExists(atPath: index.path) {
            let map = try Self.weightMap(index)
            var shardIndex: [String: Int] = [:]
            for shard in Set(map.values).sorted() {
                guard !shard.contains("/"), !shard.hasPrefix(".") else {
                    throw HuggingFaceModelError.badIndex(path: index.path, reason: "shard name '\(shard)' is not a plain file name")
                }
                shardIndex[shard] = files.count
                files.append(try SafetensorsFile(folder.appendingPathComponent(shard)))
            }
            for (name, shard) in map {
                let i = shardIndex[shard]!
                guard files[i].entry(name) != nil else {
                    throw SafetensorsError(path: files[i].url.path, tensor: name,
                                           reason: "listed in model.safetensors.index.json but not in the shard")
                }
                owner[name] = i
            }
            description = "model.safetensors.index.json (\(files.count) shards)"
        } else {
            throw HuggingFaceModelError.noWeights(folder: folder.path)
        }
    }

    var names: [String] { Array(owner.keys) }

    func locate(_ name: String) -> (SafetensorsFile, SafetensorsFile.Entry)? {
        guard let i = owner[name], let e = files[i].entry(name) else { return nil }
        return (files[i], e)
    }

    private static func weightMap(_ url: URL) throws -> [String: String] {
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) } catch {
            throw HuggingFaceModelError.badIndex(path: url.path, reason: "not valid JSON")
        }
        guard let map = (json as? [String: Any])?["weight_map"] as? [String: Any] else {
            throw HuggingFaceModelError.badIndex(path: url.path, reason: "missing weight_map object")
        }
        var out: [String: String] = [:]
        for (k, v) in map {
            guard let s = v as? String else {
                throw HuggingFaceModelError.badIndex(path: url.path, reason: "weight_map.\(k) is not a file name")
            }
            out[k] = s
        }
        return out
    }
}

public enum HuggingFaceModelError: Error, CustomStringConvertible {
    case noWeights(folder: String)
    case badIndex(path: String, reason: String)
    case missingTensor(folder: String, tensor: String, in: String)
    case unusedTensor(folder: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .noWeights(folder):
            return "\(folder): no model.safetensors or model.safetensors.index.json"
        case let .badIndex(path, reason):
            return "\(path): \(reason)"
        case let .missingTensor(folder, tensor, source):
            return "\(folder): tensor '\(tensor)' is missing from \(source)"
        case let .unusedTensor(folder, tensor, reason):
            return "\(folder): tensor '\(tensor)' is not used: \(reason)"
        }
    }
}
