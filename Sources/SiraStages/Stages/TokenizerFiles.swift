import Foundation
import SiraPipeline
import SiraData
import SiraIO
import SiraModel

/// Where stage outputs keep what others read: the tokenizer stage's `tokenizer.json` and the
/// tokenize stage's shard folders.
enum TokenizerFiles {
    static let fileName = StageOutput.tokenizerFileName

    /// The resolved special-token rules of a loaded model tokenizer (absent for trained ones).
    static let rulesName = "special_tokens.json"

    static func load(_ output: StageOutput) throws -> BPETokenizer {
        let tokenizer = try BPETokenizer(contentsOf: output.url(fileName))
        let rulesURL = output.url(rulesName)
        guard FileManager.default.fileExists(atPath: rulesURL.path) else { return tokenizer }
        let rules = try JSONDecoder().decode(SpecialTokenRules.self, from: Data(contentsOf: rulesURL))
        return tokenizer.with(rules: rules)
    }

    static func saveRules(_ rules: SpecialTokenRules, to folder: URL) throws {
        try AtomicFile.write(Array(try JSONEncoder.canonical.encode(rules)), to: folder.appendingPathComponent(rulesName))
    }

    /// One line saying which start token is added, the end token and which ids stop generation.
    static func describe(_ tokenizer: BPETokenizer) -> String {
        let end = tokenizer.rules.eosID.map { "end token \(tokenizer.tokenName($0)) (id \($0))" } ?? "no end token"
        return "\(tokenizer.specialTokenSummary()); \(end)"
    }

    /// A tokenizer_config.json for a tokenizer that came without one (a GGUF base's): the chat
    /// template (nil: none) and the start and end tokens' strings, which templates render.
    static func saveTemplateConfig(of tokenizer: BPETokenizer, template: String?, to folder: URL) throws {
        guard let template else { return }
        let members = [JSONMember("chat_template", .string(template))]
            + tokenizer.templateSpecialTokens.sorted { $0.key < $1.key }.map { JSONMember($0.key, .string($0.value)) }
        try AtomicFile.write(Array(JSONWriter.serialize(.object(members)).utf8), to: folder.appendingPathComponent("tokenizer_config.json"))
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
            auxLossWeight: type == .sira ? auxLossWeight : 0, zLossWeight: type == .sira ? zLossWeight : 0,
            layersToTransform: layersToTransform
        )
    }
}
