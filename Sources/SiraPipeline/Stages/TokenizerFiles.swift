import Foundation
import SiraData
import SiraModel

/// Where stage outputs keep what others read: the tokenizer stage's `tokenizer.json` and the
/// tokenize stage's shard folders.
enum TokenizerFiles {
    static let fileName = "tokenizer.json"

    static func load(_ output: StageOutput) throws -> BPETokenizer {
        try BPETokenizer(contentsOf: output.url(fileName))
    }

    /// The files beside a model's tokenizer.json that may hold its chat template.
    static let templateFiles = ["tokenizer_config.json", "chat_template.jinja"]

    /// The chat template kept with the tokenizer (nil when the model has none).
    static func chatTemplate(_ folder: URL) throws -> ModelChatTemplate? {
        do { return try ModelChatTemplate.load(folder: folder) } catch let e as ModelChatTemplate.LoadError {
            throw StageFailure(e.description)
        }
    }

    /// The `train` or `eval` shard of a tokenize stage's output.
    static func shard(_ output: StageOutput, _ split: Snapshot.Split) throws -> TokenShard {
        try TokenShard(output.url(split.rawValue))
    }
}

extension AdapterVariant {
    /// The SiraModel configuration of a manifest variant (`multitask` uses its source's architecture).
    var adapterConfig: AdapterConfig {
        let type: AdapterType
        switch architecture {
        case .lora: type = .lora
        case .molora: type = .molora
        case .sira, .multitask: type = .sira
        }
        return AdapterConfig(
            type: type, r: r, loraAlpha: loraAlpha, targetModules: targetModules,
            numExperts: type == .lora ? 1 : numExperts, topK: type == .sira ? topK : 1,
            capacityFactor: type == .sira ? capacityFactor : nil, evalCapacityFactor: evalCapacityFactor,
            expertDropout: type == .sira ? expertDropout : 0, normalizeGates: normalizeGates,
            auxLossWeight: type == .sira ? auxLossWeight : 0, zLossWeight: type == .sira ? zLossWeight : 0
        )
    }
}
