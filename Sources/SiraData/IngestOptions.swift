import Foundation

/// What one ingest does: which task the files feed, how they are read, how they are split.
public struct IngestOptions: Sendable, Equatable {
    /// The task (the snapshot folder `data/datasets/<task>/`); nil: the first file's name without
    /// its extension. Letters, digits, '.', '_' and '-' only, not starting with '.'.
    public var task: String?
    /// Read every file as this format; nil: by each file's extension.
    public var format: DatasetFormat?
    public var reader: ReaderOptions
    /// Share of records in the evaluation split, in [0, 1).
    public var evalFraction: Double
    /// Rejected rows returned in `IngestResult.rejects` (all of them are in the quarantine files).
    public var rejectsReturned: Int

    public static let defaultEvalFraction = 0.1

    public init(task: String? = nil, format: DatasetFormat? = nil, reader: ReaderOptions = ReaderOptions(),
                evalFraction: Double = IngestOptions.defaultEvalFraction, rejectsReturned: Int = 1000)
    {
        self.task = task
        self.format = format
        self.reader = reader
        self.evalFraction = evalFraction
        self.rejectsReturned = rejectsReturned
    }

    /// True for a name usable as one path component everywhere.
    public static func isValidTaskName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 100, !name.hasPrefix(".") else { return false }
        return name.unicodeScalars.allSatisfy { s in
            (s.isASCII && (s.properties.isAlphabetic || ("0" ... "9").contains(s))) || s == "." || s == "_" || s == "-"
        }
    }
}

/// What an ingest produced: the snapshot to train on and what was left out, and why.
public struct IngestResult: Sendable {
    public let task: String
    /// The snapshot's identity: SHA-256 over the input files' content hashes and the options that
    /// shape the output (see `Ingestor.snapshotKey`).
    public let sha256: String
    /// `data/datasets/<task>/<sha256>/`, holding `train.jsonl`, `eval.jsonl` and `stats.json`.
    public let snapshot: URL
    public let stats: SnapshotStats
    /// Rejected rows of this ingest (up to `IngestOptions.rejectsReturned`; empty when `reused`).
    public let rejects: [RejectedRecord]
    /// Quarantine files holding every rejected row, one per input file with rejects.
    public let rejectFiles: [URL]
    /// Input files that could not be used at all, now in the quarantine with a `.reason`.
    public let quarantined: [QuarantinedFile]
    /// Where each usable input file's original bytes are kept: `data/archive/<sha256>.<ext>`.
    public let archived: [URL]
    /// True when the snapshot already existed (same content ingested before): no records were
    /// read or written.
    public let reused: Bool

    public var trainFile: URL { snapshot.appendingPathComponent(Snapshot.trainFileName) }
    public var evalFile: URL { snapshot.appendingPathComponent(Snapshot.evalFileName) }
}

public struct QuarantinedFile: Sendable, Equatable {
    /// The path the file was given as.
    public let source: URL
    /// Its place in the quarantine (with `<name>.reason` next to it).
    public let destination: URL
    public let reason: String
}
