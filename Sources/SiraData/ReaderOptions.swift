import Foundation

/// How readers turn rows into examples.
public struct ReaderOptions: Sendable, Equatable {
    /// Which fields (JSONL keys or CSV/TSV header columns) hold the prompt and completion, or the
    /// text of a language-modelling record. nil: the standard names are looked for.
    public var columns: ColumnMapping?
    /// Longest accepted record, in UTF-8 bytes of prompt + completion. Longer rows are rejected
    /// ("over the length limit"); raw lines longer than 8× this are skipped without being parsed.
    public var maxRecordBytes: Int

    public static let defaultMaxRecordBytes = 1 << 20

    public init(columns: ColumnMapping? = nil, maxRecordBytes: Int = ReaderOptions.defaultMaxRecordBytes) {
        self.columns = columns
        self.maxRecordBytes = maxRecordBytes
    }

    /// Longest raw line or CSV record read into memory: escapes and quoting can make a row's raw
    /// form longer than its text, so the raw limit is a multiple of the record limit.
    var maxRawBytes: Int { max(maxRecordBytes, 1024) * 8 }
}

/// Maps a file's own field names onto an example: either `prompt` + `completion`, or `text` alone
/// (language modelling). Written in manifests as `{prompt: question, completion: answer}` and on
/// the command line as `prompt=question,completion=answer`.
public struct ColumnMapping: Sendable, Equatable, CustomStringConvertible {
    public var prompt: String?
    public var completion: String?
    public var text: String?

    public init(prompt: String? = nil, completion: String? = nil, text: String? = nil) {
        self.prompt = prompt
        self.completion = completion
        self.text = text
    }

    public enum Problem: Error, CustomStringConvertible, Equatable {
        case malformed(String)
        case unknownRole(String)
        case incomplete(String)

        public var description: String {
            switch self {
            case let .malformed(item): return "column mapping: \"\(item)\" is not ROLE=COLUMN"
            case let .unknownRole(role): return "column mapping: unknown role \"\(role)\" (expected prompt, completion or text)"
            case let .incomplete(why): return "column mapping: \(why)"
            }
        }
    }

    /// Parses `prompt=question,completion=answer` or `text=body`.
    public static func parse(_ spec: String) throws(Problem) -> ColumnMapping {
        var pairs: [(String, String)] = []
        for item in spec.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw .malformed(String(item)) }
            pairs.append((trimmed(parts[0]), trimmed(parts[1])))
        }
        return try from(pairs)
    }

    /// Builds and checks a mapping from role → column pairs (as a manifest's `columns:` gives them).
    public static func from(_ pairs: [(String, String)]) throws(Problem) -> ColumnMapping {
        var mapping = ColumnMapping()
        for (role, column) in pairs {
            switch role {
            case "prompt": mapping.prompt = column
            case "completion": mapping.completion = column
            case "text": mapping.text = column
            default: throw .unknownRole(role)
            }
        }
        try mapping.validate()
        return mapping
    }

    public func validate() throws(Problem) {
        if text != nil {
            guard prompt == nil, completion == nil else { throw .incomplete("text cannot be combined with prompt or completion") }
        } else {
            guard completion != nil else { throw .incomplete("completion (or text) is required") }
        }
    }

    public var description: String {
        if let text { return "text=\(text)" }
        return [prompt.map { "prompt=\($0)" }, completion.map { "completion=\($0)" }].compactMap { $0 }.joined(separator: ",")
    }

    private static func trimmed(_ s: Substring) -> String {
        String(s).trimmingCharacters(in: .whitespaces)
    }
}
