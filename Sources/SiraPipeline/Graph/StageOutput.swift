import Foundation
import SiraIO

/// What a finished stage leaves behind, stored as `_output.json` inside its published folder
/// `data/cache/<kind>/<key>/`. Later runs with the same key reuse the folder as it is, and the
/// `digest` (not the key) is what dependants hash into their own keys, so two keys that
/// produced identical bytes lead to the same downstream keys.
public struct StageOutput: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        /// Relative to the output folder.
        public var path: String
        public var bytes: Int64
        public var sha256: String

        public init(path: String, bytes: Int64, sha256: String) { self.path = path; self.bytes = bytes; self.sha256 = sha256 }
    }

    /// A file the stage published outside its folder (a dataset snapshot owned by SiraData).
    public struct External: Codable, Sendable, Equatable {
        /// Relative to the workspace root.
        public var path: String
        public var sha256: String

        public init(path: String, sha256: String) { self.path = path; self.sha256 = sha256 }
    }

    public static let fileName = "_output.json"

    public var stage: String
    public var key: String
    public var digest: String
    public var files: [File]
    public var external: [External]
    public var metrics: [String: Double]
    public var info: [String: String]
    public var toolVersion: String
    public var createdAt: Date
    public var seconds: Double

    /// The published folder (not stored; set when loaded).
    public var folder: URL {
        get { URL(fileURLWithPath: folderPath) }
        set { folderPath = newValue.path }
    }
    private var folderPath: String = ""

    enum CodingKeys: String, CodingKey {
        case stage, key, digest, files, external, metrics, info, toolVersion = "tool_version", createdAt = "created_at", seconds
    }

    public init(stage: String, key: String, files: [File], external: [External], metrics: [String: Double],
                info: [String: String], seconds: Double, folder: URL) {
        self.stage = stage
        self.key = key
        self.files = files.sorted { $0.path < $1.path }
        self.external = external.sorted { $0.path < $1.path }
        self.metrics = metrics
        self.info = info
        toolVersion = ToolVersion.string
        createdAt = Date()
        self.seconds = seconds
        digest = Self.digest(files: self.files, external: self.external)
        folderPath = folder.path
    }

    /// SHA-256 over the sorted file list with each file's hash: the content identity of the output.
    public static func digest(files: [File], external: [External]) -> String {
        var h = ContentHasher()
        for f in files { h.update("file \(f.path) \(f.bytes) \(f.sha256)\n") }
        for e in external { h.update("external \(e.path) \(e.sha256)\n") }
        return h.finalize()
    }

    public func url(_ relativePath: String) -> URL { folder.appendingPathComponent(relativePath) }

    /// Loads `_output.json` from `folder` when every file it lists is present with its recorded
    /// size and every external path exists; nil otherwise (the stage must run again).
    public static func loadIfComplete(folder: URL, workspace: Workspace) -> StageOutput? {
        let meta = folder.appendingPathComponent(fileName)
        guard let data = try? Data(contentsOf: meta),
              var out = try? JSONDecoder.pipeline.decode(StageOutput.self, from: data)
        else { return nil }
        let fm = FileManager.default
        for f in out.files {
            guard let attrs = try? fm.attributesOfItem(atPath: folder.appendingPathComponent(f.path).path),
                  (attrs[.size] as? NSNumber)?.int64Value == f.bytes
            else { return nil }
        }
        for e in out.external where !fm.fileExists(atPath: workspace.resolve(e.path).path) {
            return nil
        }
        guard out.digest == digest(files: out.files, external: out.external) else { return nil }
        out.folder = folder
        return out
    }

    /// Lists and hashes every regular file below `folder` (except `_output.json`).
    static func scanFiles(_ folder: URL) throws -> [File] {
        let fm = FileManager.default
        var out: [File] = []
        let base = folder.standardizedFileURL.path
        guard let items = fm.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey]) else { return [] }
        for case let url as URL in items {
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
            guard values.isRegularFile == true else { continue }
            let full = url.standardizedFileURL.path
            let rel = full.hasPrefix(base + "/") ? String(full.dropFirst(base.count + 1)) : url.lastPathComponent
            if rel == fileName { continue }
            out.append(File(path: rel, bytes: Int64(values.fileSize ?? 0), sha256: try ContentHash.sha256(file: url)))
        }
        return out
    }
}

extension JSONEncoder {
    /// Sorted keys and ISO dates: stable bytes for hashing and diffing.
    public static var pipeline: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    public static var canonical: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }
}

extension JSONDecoder {
    public static var pipeline: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}

extension StageOutput {
    /// The tokenizer stage's file that later stages and published checkpoints read.
    public static let tokenizerFileName = "tokenizer.json"
}
