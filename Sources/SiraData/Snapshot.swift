import Foundation

/// A dataset snapshot folder written by `Ingestor`: `train.jsonl` and `eval.jsonl` (one
/// `{"prompt": ..., "completion": ...}` object per line, in input order) and `stats.json`.
public struct Snapshot: Sendable {
    public static let trainFileName = "train.jsonl"
    public static let evalFileName = "eval.jsonl"
    public static let statsFileName = "stats.json"

    public enum Split: String, Sendable, CaseIterable {
        case train, eval
    }

    public let folder: URL
    public let stats: SnapshotStats

    public init(_ folder: URL) throws {
        self.folder = folder
        let url = folder.appendingPathComponent(Self.statsFileName)
        do {
            stats = try SnapshotStats(json: try JSONParser.parse(Array(try Data(contentsOf: url))))
        } catch {
            throw IngestError.badSnapshot(url.path, "\(error)")
        }
    }

    public func file(_ split: Split) -> URL {
        folder.appendingPathComponent(split == .train ? Self.trainFileName : Self.evalFileName)
    }

    /// Streams the examples of one split in order.
    public func forEachExample(_ split: Split, _ body: (Example) throws -> Void) throws {
        let url = file(split)
        let reader = JSONLRecordReader(options: ReaderOptions(maxRecordBytes: Int.max / 16))
        _ = try reader.read(url, onExample: { _, example in try body(example) }, onReject: { reject in
            throw IngestError.badSnapshot(url.path, reject.description)
        })
    }

    public func examples(_ split: Split) throws -> [Example] {
        var out: [Example] = []
        try forEachExample(split) { out.append($0) }
        return out
    }

    /// One snapshot line: the example as a JSON object and a newline.
    static func line(_ example: Example) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(example.byteCount + 32)
        out.append(contentsOf: #"{"prompt":"#.utf8)
        JSONWriter.writeString(example.prompt, to: &out)
        out.append(contentsOf: #","completion":"#.utf8)
        JSONWriter.writeString(example.completion, to: &out)
        out.append(contentsOf: "}\n".utf8)
        return out
    }
}
