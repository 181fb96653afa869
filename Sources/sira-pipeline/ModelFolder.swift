import Foundation
import SiraData
import SiraModel

/// A base model for the `score` and `generate` commands: an HF folder (config.json, safetensors,
/// tokenizer.json). The tokenizer is optional until text has to be encoded or decoded.
struct ModelFolder {
    let url: URL
    let model: LlamaModel
    private let tokenizerURL: URL

    init(path: String) throws {
        url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
            throw CommandError("\(path): not a model folder (expected config.json, model.safetensors, tokenizer.json)")
        }
        model = try LlamaModel.load(huggingFaceFolder: url)
        tokenizerURL = url.appendingPathComponent("tokenizer.json")
    }

    /// The folder's tokenizer; an error naming the folder when it has none.
    func tokenizer() throws -> BPETokenizer {
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw CommandError("\(url.path): no tokenizer.json (needed to encode or decode text)")
        }
        let tokenizer = try BPETokenizer(contentsOf: tokenizerURL)
        guard tokenizer.vocabSize <= model.config.vocabSize else {
            throw CommandError("\(tokenizerURL.path): \(tokenizer.vocabSize) token ids but the model's vocab_size is \(model.config.vocabSize)")
        }
        return tokenizer
    }
}

/// A user-facing failure: the message is printed as is and the command exits non-zero.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
