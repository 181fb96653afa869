import Foundation
import SiraIO
import SiraModel

/// An adapter on disk, as train writes it and evaluate and package read it:
/// `adapter_config.json` (SiraModel's `AdapterConfig` JSON, PEFT key names) and
/// `adapter_model.safetensors` (DESIGN.md §6 tensor names, fp32).
enum AdapterFiles {
    static let configName = "adapter_config.json"
    static let weightsName = "adapter_model.safetensors"

    /// The SiraModel configuration of a manifest variant (`multitask` uses its source's architecture).
    static func config(_ v: AdapterVariant) -> AdapterConfig {
        let type: AdapterType
        switch v.architecture {
        case .lora: type = .lora
        case .molora: type = .molora
        case .sira, .multitask: type = .sira
        }
        return AdapterConfig(
            type: type, r: v.r, loraAlpha: v.loraAlpha, targetModules: v.targetModules,
            numExperts: type == .lora ? 1 : v.numExperts, topK: type == .sira ? v.topK : 1,
            capacityFactor: type == .sira ? v.capacityFactor : nil, evalCapacityFactor: v.evalCapacityFactor,
            expertDropout: type == .sira ? v.expertDropout : 0, normalizeGates: v.normalizeGates,
            auxLossWeight: type == .sira ? v.auxLossWeight : 0, zLossWeight: type == .sira ? v.zLossWeight : 0
        )
    }

    static func write(_ set: AdapterSet, to folder: URL, metadata: [String: String]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(set.config), to: folder.appendingPathComponent(configName))
        try SafetensorsWriter.write(set.parameters.map { ($0.name, $0.value) },
                                    to: folder.appendingPathComponent(weightsName), metadata: metadata)
    }

    /// Builds the adapters described in `folder`, attaches them to `model` and loads their
    /// weights; every adapter tensor must be in the file with its shape.
    @discardableResult
    static func attach(from folder: URL, to model: LlamaModel, seed: UInt64 = 0) throws -> AdapterSet {
        let config = try JSONDecoder().decode(AdapterConfig.self, from: Data(contentsOf: folder.appendingPathComponent(configName)))
        let set = try AdapterSet(config: config, seed: seed)
        set.attach(to: model)
        let file = try SafetensorsFile(folder.appendingPathComponent(weightsName))
        for p in set.parameters {
            guard let entry = file.entry(p.name) else {
                throw StageFailure("\(file.url.path): missing adapter tensor \(p.name)")
            }
            guard entry.shape == p.shape else {
                throw StageFailure("\(file.url.path): \(p.name) has shape \(entry.shape), the adapter needs \(p.shape)")
            }
            try file.read(entry, into: p.value.pointer)
        }
        return set
    }
}
