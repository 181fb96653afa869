import Foundation
import SiraIO

/// Adapter weights on disk (DESIGN.md §6).
///
/// - `write`/`load`: any adapter as one safetensors file of its PEFT-style tensor names, with the
///   `AdapterConfig` JSON in `__metadata__.adapter_config` so the file describes itself.
/// - `exportPEFT`: a plain LoRA as the folder PEFT's `PeftModel.from_pretrained` reads:
///   `adapter_config.json` (PEFT's `LoraConfig` keys) and `adapter_model.safetensors` (PEFT's tensor
///   names: `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`, ...).
public enum AdapterFiles {
    public static let configMetadataKey = "adapter_config"

    /// Writes every adapter tensor of `set`, fp32, atomically.
    public static func write(_ set: AdapterSet, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let config = String(decoding: try encoder.encode(set.config), as: UTF8.self)
        try SafetensorsWriter.write(set.parameters.map { ($0.name, $0.value) }, to: url,
                                    metadata: [configMetadataKey: config, "format": "sira-adapter/1"])
    }

    /// The adapter configuration stored in a file written by `write`.
    public static func config(of url: URL) throws -> AdapterConfig {
        let file = try SafetensorsFile(url)
        guard let json = file.metadata[configMetadataKey] else {
            throw SafetensorsError(path: url.path, tensor: nil, reason: "no __metadata__.\(configMetadataKey)")
        }
        do { return try JSONDecoder().decode(AdapterConfig.self, from: Data(json.utf8)) } catch {
            throw SafetensorsError(path: url.path, tensor: nil, reason: "__metadata__.\(configMetadataKey): \(error)")
        }
    }

    /// Fills every parameter of `set` from `url` (F32, F16 or BF16). Every parameter must be present
    /// with its shape and the file must hold nothing else; nothing is changed when it throws.
    public static func load(into set: AdapterSet, from url: URL) throws {
        let file = try SafetensorsFile(url)
        let params = set.parameters
        for p in params {
            guard let e = file.entry(p.name) else { throw SafetensorsError(path: url.path, tensor: p.name, reason: "missing") }
            guard e.shape == p.shape else {
                throw SafetensorsError(path: url.path, tensor: p.name, reason: "shape \(e.shape), the adapter expects \(p.shape)")
            }
        }
        let known = Set(params.map(\.name))
        if let extra = file.names.first(where: { !known.contains($0) }) {
            throw SafetensorsError(path: url.path, tensor: extra, reason: "not a tensor of this adapter (\(set.config.type.rawValue), r=\(set.config.r))")
        }
        let staged = try params.map { try file.tensor($0.name) }
        for (p, t) in zip(params, staged) { p.value.copy(from: t) }
    }

    /// PEFT's `adapter_config.json` for a LoRA: every `LoraConfig` key PEFT writes, with the values
    /// this adapter means (no dropout, no bias, plain LoRA scaling `alpha / r`).
    public static func peftConfig(_ config: AdapterConfig, baseModel: String?) -> [String: Any] {
        [
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": baseModel ?? NSNull(),
            "revision": NSNull(),
            "inference_mode": true,
            "r": config.r,
            "lora_alpha": config.loraAlpha,
            "lora_dropout": 0.0,
            "target_modules": config.targetModules,
            "bias": "none",
            "fan_in_fan_out": false,
            "modules_to_save": NSNull(),
            "init_lora_weights": true,
            "layers_to_transform": config.layersToTransform ?? NSNull(),
            "layers_pattern": NSNull(),
            "rank_pattern": [String: Any](),
            "alpha_pattern": [String: Any](),
            "use_rslora": false,
            "use_dora": false,
        ]
    }

    /// Writes `folder/adapter_config.json` and `folder/adapter_model.safetensors` for a LoRA
    /// adapter set, building the folder next to its destination and renaming it into place.
    public static func exportPEFT(_ set: AdapterSet, to folder: URL, baseModel: String? = nil) throws {
        guard set.config.type == .lora else {
            throw AdapterConfigError.invalid(key: "adapter_type", reason: "only a plain LoRA exports to PEFT, this adapter is \(set.config.type.rawValue)")
        }
        let parent = folder.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let tmp = AtomicFile.temporaryURL(for: folder)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: false)
        do {
            let json = try JSONSerialization.data(withJSONObject: peftConfig(set.config, baseModel: baseModel),
                                                  options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(Array(json), to: tmp.appendingPathComponent("adapter_config.json"))
            try SafetensorsWriter.write(set.parameters.map { ($0.name, $0.value) },
                                        to: tmp.appendingPathComponent("adapter_model.safetensors"),
                                        metadata: ["format": "pt"])
            try AtomicFile.syncTree(tmp)
            try AtomicFile.publish(tmp, to: folder)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }
}

extension AdapterFiles {
    /// Loads an adapter and hooks it into `model`: `url` is either a file written by `write` (its
    /// config travels in the metadata) or a PEFT LoRA folder (`adapter_config.json` +
    /// `adapter_model.safetensors`). Replaces any adapters attached before; on error the model is
    /// left without adapters rather than with half-loaded ones.
    @discardableResult
    public static func attach(from url: URL, to model: LlamaModel) throws -> AdapterSet {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw SafetensorsError(path: url.path, tensor: nil, reason: "no such file or folder")
        }
        let config: AdapterConfig, weights: URL
        if isFolder.boolValue {
            let configURL = url.appendingPathComponent("adapter_config.json")
            weights = url.appendingPathComponent("adapter_model.safetensors")
            do { config = try JSONDecoder().decode(AdapterConfig.self, from: Data(contentsOf: configURL)) } catch {
                throw SafetensorsError(path: configURL.path, tensor: nil, reason: "\(error)")
            }
        } else {
            weights = url
            config = try self.config(of: url)
        }
        try AdapterLimits.check(config, fits: model.config)
        let set = try AdapterSet(config: config, seed: 0)
        set.attach(to: model)
        do { try load(into: set, from: weights) } catch {
            model.detachAdapters()
            throw error
        }
        return set
    }
}
