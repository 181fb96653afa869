import Foundation
import SiraPipeline
import SiraIO

/// A manifest's `base: {gguf: FILE}`: the checks shared by the tokenizer and base stages, whose
/// errors name the key and the file, and say how to fetch the shipped default model again.
enum GGUFBase {
    /// The SHA-256 of the file (an external input of both stages: a changed file reruns them).
    static func hash(_ path: String, _ workspace: Workspace) throws -> String {
        let url = try existing(path, workspace)
        return try ContentHash.sha256(file: url)
    }

    /// The parsed file (header, metadata and tensor table checked; tensors mapped, not read).
    static func open(_ path: String, _ workspace: Workspace) throws -> GGUFFile {
        let url = try existing(path, workspace)
        do { return try GGUFFile(url) } catch {
            throw StageFailure("base.gguf: \(error)\(fetchHint(path))")
        }
    }

    static func existing(_ path: String, _ workspace: Workspace) throws -> URL {
        let url = workspace.resolve(path)
        do { try RegularFile.require(url.path) } catch {
            throw StageFailure("base.gguf: \(error)\(fetchHint(path))")
        }
        return url
    }

    /// How to get the shipped default base (scripts/fetch-model.sh) back, for its path only.
    static func fetchHint(_ path: String) -> String {
        path.hasSuffix("SmolLM2-135M-Instruct.Q4_1.gguf")
            ? " (run `bash scripts/fetch-model.sh` to fetch it and check its SHA-256 again)" : ""
    }
}
