/// A row that could not become an `Example`, with where it is and why. Rejected rows never stop an
/// ingest; they are written to `data/quarantine/` and counted in the snapshot's stats.
public struct RejectedRecord: Sendable, Equatable {
    /// The path of the file the row came from, as it was given to the reader.
    public var file: String
    /// 1-based line on which the row starts (for a CSV record spanning lines, its first line).
    public var line: Int
    public var reason: RejectReason
    /// The start of the raw row (at most `excerptLimit` bytes, invalid UTF-8 replaced), so a
    /// person can recognise it; the full original bytes stay in the archived file.
    public var excerpt: String

    public static let excerptLimit = 200

    public init(file: String, line: Int, reason: RejectReason, excerpt: String) {
        self.file = file
        self.line = line
        self.reason = reason
        self.excerpt = excerpt
    }

    init(file: String, line: Int, reason: RejectReason, raw: UnsafeRawBufferPointer) {
        let n = min(raw.count, Self.excerptLimit)
        self.init(file: file, line: line, reason: reason,
                  excerpt: String(decoding: UnsafeRawBufferPointer(rebasing: raw[0 ..< n]), as: UTF8.self))
    }

    /// "file:line: reason" — the form printed by the CLI and stored in `.reason` files.
    public var description: String { "\(file):\(line): \(reason)" }

    /// One JSON object per rejected row, the line format of quarantine `.rejects.jsonl` files.
    public var json: JSONValue {
        .object([
            JSONMember("file", .string(file)),
            JSONMember("line", .number(Double(line))),
            JSONMember("reason", .string(reason.code)),
            JSONMember("detail", .string(reason.description)),
            JSONMember("excerpt", .string(excerpt)),
        ])
    }
}

public enum RejectReason: Error, Sendable, Equatable, CustomStringConvertible {
    /// The row's bytes are not valid UTF-8; `offset` is the first bad byte within the row.
    case invalidUTF8(offset: Int)
    case badJSON(String)
    /// A required field or column is absent; the message names what was expected.
    case missingField(String)
    /// A field is present but has the wrong JSON type.
    case wrongType(field: String, expected: String, found: String)
    /// The named field is empty or only white space.
    case empty(field: String)
    /// The row is longer than the reader's record limit (UTF-8 bytes).
    case tooLong(bytes: Int, limit: Int)
    case badCSV(String)
    case badChat(String)

    /// A stable machine-readable code, used in quarantine files and stats.
    public var code: String {
        switch self {
        case .invalidUTF8: return "invalid_utf8"
        case .badJSON: return "bad_json"
        case .missingField: return "missing_field"
        case .wrongType: return "wrong_type"
        case .empty: return "empty"
        case .tooLong: return "too_long"
        case .badCSV: return "bad_csv"
        case .badChat: return "bad_chat"
        }
    }

    public var description: String {
        switch self {
        case let .invalidUTF8(offset): return "invalid UTF-8 at byte \(offset + 1) of the row"
        case let .badJSON(message): return "bad JSON: \(message)"
        case let .missingField(message): return "missing field: \(message)"
        case let .wrongType(field, expected, found): return "field \"\(field)\" must be a \(expected), found \(found)"
        case let .empty(field): return "empty: \"\(field)\" has no text"
        case let .tooLong(bytes, limit): return "over the length limit: \(bytes) bytes > \(limit)"
        case let .badCSV(message): return "bad CSV: \(message)"
        case let .badChat(message): return "bad chat record: \(message)"
        }
    }
}
