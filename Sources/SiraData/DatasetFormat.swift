import Foundation

/// The kinds of dataset file the readers understand, chosen by file extension.
public enum DatasetFormat: String, Sendable, CaseIterable {
    /// One JSON object per line: prompt/completion, input/output, text, or chat messages.
    case jsonl
    case csv
    case tsv
    /// Plain text for language modelling: one record per paragraph (see `TextRecordReader`).
    case text

    /// The format of a file by its extension (case-insensitive): .jsonl/.ndjson, .csv, .tsv, .txt/.text.
    public static func of(_ url: URL) -> DatasetFormat? {
        switch url.pathExtension.lowercased() {
        case "jsonl", "ndjson": return .jsonl
        case "csv": return .csv
        case "tsv", "tab": return .tsv
        case "txt", "text": return .text
        default: return nil
        }
    }
}
