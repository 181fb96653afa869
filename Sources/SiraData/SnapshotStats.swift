/// The figures of one snapshot, stored as its `stats.json`. Contains no timestamps or absolute
/// paths, so ingesting the same content twice writes the same bytes.
public struct SnapshotStats: Sendable, Equatable {
    public static let formatName = "sira-snapshot-v1"

    public var task: String
    public var sha256: String
    /// Records kept (train + eval), after rejects and duplicates are removed.
    public var records: Int
    public var train: Int
    public var eval: Int
    /// Rows rejected by validation, in usable files only (an unusable file counts in `sources`).
    public var rejected: Int
    /// Rows dropped as exact duplicates (after white-space normalisation) of an earlier row.
    public var duplicates: Int
    /// Size of the usable input files.
    public var bytes: Int
    /// Unicode scalars in the kept records' prompts and completions.
    public var characters: Int
    public var evalFraction: Double
    public var trainSHA256: String
    public var evalSHA256: String
    public var sources: [Source]

    public struct Source: Sendable, Equatable {
        public enum Status: String, Sendable { case ingested, quarantined }
        /// The file's name when it was ingested (no folder).
        public var file: String
        public var sha256: String
        public var format: String
        public var bytes: Int
        public var records: Int
        public var rejected: Int
        public var duplicates: Int
        public var status: Status
        /// Why the file was quarantined whole (nil when ingested).
        public var reason: String?
    }

    public var json: JSONValue {
        .object([
            JSONMember("format", .string(Self.formatName)),
            JSONMember("task", .string(task)),
            JSONMember("sha256", .string(sha256)),
            JSONMember("records", .number(Double(records))),
            JSONMember("train", .number(Double(train))),
            JSONMember("eval", .number(Double(eval))),
            JSONMember("rejected", .number(Double(rejected))),
            JSONMember("duplicates", .number(Double(duplicates))),
            JSONMember("bytes", .number(Double(bytes))),
            JSONMember("characters", .number(Double(characters))),
            JSONMember("eval_fraction", .number(evalFraction)),
            JSONMember("train_sha256", .string(trainSHA256)),
            JSONMember("eval_sha256", .string(evalSHA256)),
            JSONMember("sources", .array(sources.map { s in
                var members = [
                    JSONMember("file", .string(s.file)),
                    JSONMember("sha256", .string(s.sha256)),
                    JSONMember("format", .string(s.format)),
                    JSONMember("bytes", .number(Double(s.bytes))),
                    JSONMember("records", .number(Double(s.records))),
                    JSONMember("rejected", .number(Double(s.rejected))),
                    JSONMember("duplicates", .number(Double(s.duplicates))),
                    JSONMember("status", .string(s.status.rawValue)),
                ]
                if let reason = s.reason { members.append(JSONMember("reason", .string(reason))) }
                return .object(members)
            })),
        ])
    }

    public init(task: String, sha256: String, records: Int, train: Int, eval: Int, rejected: Int, duplicates: Int,
                bytes: Int, characters: Int, evalFraction: Double, trainSHA256: String, evalSHA256: String, sources: [Source])
    {
        self.task = task
        self.sha256 = sha256
        self.records = records
        self.train = train
        self.eval = eval
        self.rejected = rejected
        self.duplicates = duplicates
        self.bytes = bytes
        self.characters = characters
        self.evalFraction = evalFraction
        self.trainSHA256 = trainSHA256
        self.evalSHA256 = evalSHA256
        self.sources = sources
    }

    /// Reads a `stats.json` written by `json`; throws naming the key that is missing or wrong.
    public init(json: JSONValue) throws(SnapshotStatsError) {
        func int(_ v: JSONValue, _ key: String) throws(SnapshotStatsError) -> Int {
            guard let i = v[key]?.intValue else { throw .badKey(key) }
            return i
        }
        func string(_ v: JSONValue, _ key: String) throws(SnapshotStatsError) -> String {
            guard let s = v[key]?.stringValue else { throw .badKey(key) }
            return s
        }
        guard json["format"]?.stringValue == Self.formatName else { throw .badKey("format") }
        task = try string(json, "task")
        sha256 = try string(json, "sha256")
        records = try int(json, "records")
        train = try int(json, "train")
        eval = try int(json, "eval")
        rejected = try int(json, "rejected")
        duplicates = try int(json, "duplicates")
        bytes = try int(json, "bytes")
        characters = try int(json, "characters")
        guard let f = json["eval_fraction"]?.doubleValue else { throw .badKey("eval_fraction") }
        evalFraction = f
        trainSHA256 = try string(json, "train_sha256")
        evalSHA256 = try string(json, "eval_sha256")
        guard let items = json["sources"]?.arrayValue else { throw .badKey("sources") }
        sources = []
        for (i, item) in items.enumerated() {
            guard let status = Source.Status(rawValue: item["status"]?.stringValue ?? "") else { throw .badKey("sources[\(i)].status") }
            sources.append(Source(
                file: try string(item, "file"), sha256: try string(item, "sha256"), format: try string(item, "format"),
                bytes: try int(item, "bytes"), records: try int(item, "records"), rejected: try int(item, "rejected"),
                duplicates: try int(item, "duplicates"), status: status, reason: item["reason"]?.stringValue
            ))
        }
    }
}

public enum SnapshotStatsError: Error, CustomStringConvertible, Equatable {
    case badKey(String)
    public var description: String {
        switch self {
        case let .badKey(key): return "stats.json: missing or invalid \"\(key)\""
        }
    }
}
