import Foundation
import SiraData
import SiraIO
import SiraModel

/// A base model for the `score` and `generate` commands: an HF folder (config.json, safetensors,
/// tokenizer.json) or a GGUF file (weights dequantised to fp32, tokenizer from its
/// `tokenizer.ggml.*` metadata). The tokenizer is optional until text has to be encoded or decoded.
struct ModelFolder {
    let url: URL
    let model: LlamaModel
    /// True when `url` is a GGUF file rather than an HF folder.
    let isGGUF: Bool
    private let tokenizerURL: URL
    /// Seconds to load the model and attach the adapter (reported by score and generate).
    var loadSeconds = 0.0

    init(path: String) throws {
        let kind: ModelFiles.Kind
        do { kind = try ModelFiles.kind(of: URL(fileURLWithPath: path)) } catch {
            throw CommandError("\(error) (--model takes an HF folder with config.json, model.safetensors and tokenizer.json, or a .gguf file)")
        }
        switch kind {
        case let .gguf(file):
            url = file
            isGGUF = true
            model = try LlamaModel.load(gguf: file)
            tokenizerURL = file
        case let .huggingFace(folder):
            url = folder
            isGGUF = false
            model = try LlamaModel.load(huggingFaceFolder: folder)
            tokenizerURL = folder.appendingPathComponent("tokenizer.json")
        }
    }

    /// The model's tokenizer; an error naming the folder or file when it has none.
    func tokenizer() throws -> BPETokenizer {
        let tokenizer: BPETokenizer
        if isGGUF {
            tokenizer = try BPETokenizer(gguf: GGUFFile(url))
        } else {
            guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
                throw CommandError("\(url.path): no tokenizer.json (needed to encode or decode text)")
            }
            // The folder's special-token rules (tokenizer_config.json, generation_config.json, config.json).
            tokenizer = try BPETokenizer.load(modelFolder: url, tokenizerFile: tokenizerURL)
        }
        guard tokenizer.vocabSize <= model.config.vocabSize else {
            throw CommandError("\(tokenizerURL.path): \(tokenizer.vocabSize) token ids but the model's vocab_size is \(model.config.vocabSize)")
        }
        return tokenizer
    }

    /// The model's chat template (nil when it has none): tokenizer_config.json or
    /// chat_template.jinja in an HF folder, `tokenizer.chat_template` in a GGUF file, rendered
    /// with the start and end tokens' strings.
    func chatTemplate(_ tokenizer: BPETokenizer) throws -> ModelChatTemplate? {
        guard isGGUF else { return try ModelChatTemplate.load(folder: url) }
        guard let source = try GGUFFile(url)["tokenizer.chat_template"]?.string else { return nil }
        do {
            return try ModelChatTemplate(source: source, name: "\(url.path) tokenizer.chat_template",
                                         specialTokens: tokenizer.templateSpecialTokens)
        } catch {
            throw CommandError(error.description)
        }
    }

    /// The ids generation stops at: the tokenizer's rules and config.json's `eos_token_id`.
    func stopIDs(_ tokenizer: BPETokenizer) -> [Int] {
        tokenizer.rules.addingStops(model.config.eosTokenIds).stopIDs
    }

    /// What the special tokens do, for stderr (`start token: ...`) and `--json`.
    func tokenReport(_ tokenizer: BPETokenizer) -> (line: String, json: String) {
        let r = tokenizer.rules
        let stops = stopIDs(tokenizer)
        func q(_ s: String) -> String { JSONWriter.serialize(.string(s)) }
        let startJSON = r.addBOS && r.bosID != nil ? "{\"id\": \(r.bosID!), \"token\": \(q(tokenizer.tokenName(r.bosID!)))}" : "null"
        let stopJSON = "[" + stops.map { "{\"id\": \($0), \"token\": \(q(tokenizer.tokenName($0)))}" }.joined(separator: ", ") + "]"
        return (tokenizer.specialTokenSummary(stops: stops),
                "\"start_token\": \(startJSON), \"stop_tokens\": \(stopJSON)")
    }
}

/// A user-facing failure: the message is printed as is and the command exits non-zero.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
