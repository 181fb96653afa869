import Foundation
import SiraIO

/// Where a base model lives on disk, in the two forms people hold: a Hugging Face folder
/// (`config.json` + safetensors) or a GGUF file (llama.cpp, Ollama, LM Studio). A pipeline's base
/// stage keeps a GGUF base as `model.gguf` in its output folder, so a folder holding that file is
/// a GGUF base too.
public enum ModelFiles {
    /// The name a GGUF base has inside a base stage's output folder.
    public static let ggufName = "model.gguf"

    public enum Kind: Sendable, Equatable {
        case huggingFace(folder: URL)
        case gguf(file: URL)
    }

    /// What `url` holds: a file starting with the GGUF magic, a folder with `config.json`, or a
    /// folder with `model.gguf`. Anything else is an error saying what was expected.
    public static func kind(of url: URL) throws -> Kind {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ModelFilesError("\(url.path): no such file or folder")
        }
        if !isDir.boolValue {
            try RegularFile.require(url.path)
            guard hasGGUFMagic(url) else {
                throw ModelFilesError("\(url.path): not a GGUF file (it does not start with 'GGUF') and not a model folder")
            }
            return .gguf(file: url)
        }
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) { return .huggingFace(folder: url) }
        let gguf = url.appendingPathComponent(ggufName)
        if FileManager.default.fileExists(atPath: gguf.path) { return .gguf(file: gguf) }
        throw ModelFilesError("\(url.path): not a model folder (expected config.json with model.safetensors, or \(ggufName))")
    }

    static func hasGGUFMagic(_ url: URL) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)).map { Array($0) == Array("GGUF".utf8) } ?? false
    }
}

public struct ModelFilesError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

extension LlamaModel {
    /// Loads a base from an HF folder, a GGUF file, or a base stage's output (either form).
    public static func load(model url: URL) throws -> LlamaModel {
        switch try ModelFiles.kind(of: url) {
        case let .huggingFace(folder): return try load(huggingFaceFolder: folder)
        case let .gguf(file): return try load(gguf: file)
        }
    }
}

extension LlamaConfig {
    /// The configuration of an HF folder, a GGUF file or a base stage's output, without loading
    /// any tensor (GGUF: from its metadata, as `load(gguf:)` reads it).
    public static func load(model url: URL) throws -> LlamaConfig {
        switch try ModelFiles.kind(of: url) {
        case let .huggingFace(folder): return try load(from: folder.appendingPathComponent("config.json"))
        case let .gguf(file): return try fromGGUF(GGUFFile(file))
        }
    }
}
