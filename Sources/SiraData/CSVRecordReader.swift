import Foundation

/// CSV and TSV with a header row. The header names the columns; a `ColumnMapping` picks the
/// prompt/completion (or text) columns, otherwise the first of prompt+completion, input+output or
/// text present in the header is used. Column names match after trimming white space, ignoring
/// case. A row whose field count differs from the header's is rejected, as is a row whose mapped
/// fields are not UTF-8.
struct CSVRecordReader {
    let delimiter: UInt8
    let options: ReaderOptions

    private struct Columns {
        var prompt: Int?
        var completion: Int
        var completionName: String
    }

    func read(_ url: URL, onExample: (Int, Example) throws -> Void, onReject: (RejectedRecord) throws -> Void) throws -> Int {
        let file = try ChunkedFileReader(url)
        let path = url.path
        var header: [String]?
        var columns: Columns?
        let parser = CSVParser(delimiter: delimiter, maxRecordBytes: options.maxRawBytes)
        try parser.parse(file) { event in
            switch event {
            case let .bad(line, reason, excerpt):
                if header == nil { throw DatasetFileError.badHeader(path, "cannot read the header: \(reason)") }
                try excerpt.withUnsafeBytes { try onReject(RejectedRecord(file: path, line: line, reason: reason, raw: $0)) }
            case let .record(line, fields):
                guard let names = header else {
                    let names = try fields.map { bytes in
                        guard let s = String(validating: bytes, as: UTF8.self) else {
                            throw DatasetFileError.badHeader(path, "the header is not valid UTF-8")
                        }
                        return s.trimmingCharacters(in: .whitespaces)
                    }
                    var firstColumn: [String: Int] = [:]
                    for (i, name) in names.enumerated() {
                        if let earlier = firstColumn[name.lowercased()] {
                            throw DatasetFileError.badHeader(path, "column \"\(name)\" appears twice in the header (columns \(earlier + 1) and \(i + 1))")
                        }
                        firstColumn[name.lowercased()] = i
                    }
                    header = names
                    columns = try resolve(names, path: path)
                    return
                }
                let cols = columns!
                if fields.count != names.count {
                    let excerpt = Array(fields.joined(separator: [delimiter]).prefix(RejectedRecord.excerptLimit))
                    try excerpt.withUnsafeBytes {
                        try onReject(RejectedRecord(file: path, line: line, reason: .badCSV("expected \(names.count) fields as in the header, found \(fields.count)"), raw: $0))
                    }
                    return
                }
                switch example(fields, cols) {
                case let .success(example): try onExample(line, example)
                case let .failure(reason):
                    let excerpt = Array(fields.joined(separator: [delimiter]).prefix(RejectedRecord.excerptLimit))
                    try excerpt.withUnsafeBytes { try onReject(RejectedRecord(file: path, line: line, reason: reason, raw: $0)) }
                }
            }
        }
        if header == nil { throw DatasetFileError.badHeader(path, "the file is empty (no header row)") }
        return file.bytesRead
    }

    private func example(_ fields: [[UInt8]], _ cols: Columns) -> Result<Example, RejectReason> {
        // A raw NUL byte is refused as in JSONL (where it is an unescaped control character): the
        // same bytes are one verdict whatever the format.
        for i in [cols.prompt, cols.completion].compactMap({ $0 }) {
            if let offset = fields[i].firstIndex(of: 0) {
                return .failure(.badCSV("raw NUL byte at offset \(offset) of field \(i + 1) (write it escaped, or remove it)"))
            }
        }
        var prompt = ""
        if let p = cols.prompt {
            guard let s = String(validating: fields[p], as: UTF8.self) else {
                return .failure(.invalidUTF8(offset: fields[p].withUnsafeBytes(firstInvalidUTF8Offset)))
            }
            prompt = s
        }
        guard let completion = String(validating: fields[cols.completion], as: UTF8.self) else {
            return .failure(.invalidUTF8(offset: fields[cols.completion].withUnsafeBytes(firstInvalidUTF8Offset)))
        }
        let example = Example(prompt: prompt, completion: completion)
        if let reason = checkExample(example, completionField: cols.completionName, limit: options.maxRecordBytes) {
            return .failure(reason)
        }
        return .success(example)
    }

    private func resolve(_ names: [String], path: String) throws -> Columns {
        func index(_ name: String) -> Int? {
            let wanted = name.trimmingCharacters(in: .whitespaces).lowercased()
            return names.firstIndex { $0.lowercased() == wanted }
        }
        func require(_ name: String) throws -> Int {
            guard let i = index(name) else {
                throw DatasetFileError.badHeader(path, "column \"\(name)\" is not in the header (columns: \(names.joined(separator: ", ")))")
            }
            return i
        }
        if let mapping = options.columns {
            if let text = mapping.text { return Columns(prompt: nil, completion: try require(text), completionName: text) }
            let completion = mapping.completion ?? "completion"
            return Columns(prompt: try mapping.prompt.map(require), completion: try require(completion), completionName: completion)
        }
        for (p, c) in [("prompt", "completion"), ("input", "output")] {
            if let pi = index(p), let ci = index(c) { return Columns(prompt: pi, completion: ci, completionName: c) }
        }
        if let t = index("text") { return Columns(prompt: nil, completion: t, completionName: "text") }
        throw DatasetFileError.badHeader(path, "no prompt+completion, input+output or text columns in the header "
            + "(columns: \(names.joined(separator: ", "))); map them with columns: {prompt: ..., completion: ...}")
    }
}
