import Foundation
import SiraIO

/// The identity of a base model as packages record it (`manifest.base.sha256`): the digest of the
/// base stage's output, i.e. of its `config.json` and `model.safetensors` (names, sizes and
/// SHA-256s, `StageOutput.digest`). Any folder holding those two files byte for byte has the
/// same identity, wherever it lives; other files in the folder (a tokenizer) do not count.
public enum BaseIdentity {
    public static let files = ["config.json", "model.safetensors"]

    /// The identity of the HF folder `folder`; throws naming a missing file.
    public static func digest(folder: URL) throws -> String {
        var list: [StageOutput.File] = []
        for name in files {
            let url = folder.appendingPathComponent(name)
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: url.path), let size = attrs[.size] as? NSNumber else {
                throw PackageUseError("\(folder.path): no \(name) (a base model folder has config.json and model.safetensors)")
            }
            list.append(StageOutput.File(path: name, bytes: size.int64Value, sha256: try ContentHash.sha256(file: url)))
        }
        return StageOutput.digest(files: list, external: [])
    }

    /// The base stage output in `workspace` whose digest is `sha256`, if it is still in the cache.
    public static func locate(_ sha256: String, workspace: Workspace) -> URL? {
        let folder = workspace.stageCacheFolder(.base)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return nil }
        for name in names.sorted() where !name.hasPrefix(".") && !name.hasSuffix(".work") {
            let candidate = folder.appendingPathComponent(name)
            if let out = StageOutput.loadIfComplete(folder: candidate, workspace: workspace), out.digest == sha256 {
                return candidate
            }
        }
        return nil
    }

    /// Throws unless `folder` is the base `expected` names (sha256), saying both identities.
    public static func check(folder: URL, expected: String, baseName: String) throws {
        let actual = try digest(folder: folder)
        guard actual == expected else {
            throw PackageUseError("\(folder.path) is not the base these adapters were trained on: the package names \(baseName) with identity \(expected.prefix(16))…, the folder's config.json + model.safetensors give \(actual.prefix(16))…")
        }
    }
}
