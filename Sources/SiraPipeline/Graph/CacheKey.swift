import Foundation
import SiraIO

/// A stage's cache key (DESIGN.md §7): SHA-256 of the stage kind, its resolved parameters, the
/// content hashes of its inputs and the tool version. Inputs are the digests of the outputs of
/// the stages it depends on plus the hashes of files it reads directly (a task's source files),
/// all hashed before the stage runs. Equal keys mean the stage would compute the same thing.
public enum CacheKey {
    /// - Parameters:
    ///   - parameters: canonical JSON of the stage's resolved parameters.
    ///   - inputs: input name → content hash (`ingest@dates` → its output digest,
    ///     `file:data/inbox/dates.csv` → the file's SHA-256).
    public static func compute(kind: StageKind, parameters: String, inputs: [String: String],
                               toolVersion: String = ToolVersion.string) -> String {
        var h = ContentHasher()
        h.update("sira-pipeline stage key v1\n")
        h.update("kind \(kind.rawValue)\n")
        h.update("tool \(toolVersion)\n")
        h.update("params \(parameters.utf8.count)\n")
        h.update(parameters)
        h.update("\n")
        for name in inputs.keys.sorted() {
            h.update("input \(name) \(inputs[name]!)\n")
        }
        return h.finalize()
    }

    /// Canonical JSON (sorted keys, no whitespace) of an encodable parameter set.
    public static func canonicalJSON<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder.canonical.encode(value), as: UTF8.self)
    }
}
