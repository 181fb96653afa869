import Foundation

/// Plain text for language modelling. A record is a paragraph: a run of lines that are not blank,
/// ended by one or more blank (empty or white-space-only) lines or the end of the file. The
/// paragraph's lines are joined with "\n" (CRLF files read the same as LF files); white space inside
/// lines is kept as written. Each record is an `Example` with an empty prompt; its line is the
/// paragraph's first line. A paragraph with invalid UTF-8 is rejected at the offending line; one
/// longer than the record limit is rejected whole.
struct TextRecordReader {
    let options: ReaderOptions

    func read(_ url: URL, onExample: (Int, Example) throws -> Void, onReject: (RejectedRecord) throws -> Void) throws -> Int {
        let reader = try LineReader(url, maxLineBytes: options.maxRawBytes)
        let file = url.path
        var paragraph: [UInt8] = []
        var startLine = 0 // 0: not inside a paragraph
        var problem: (line: Int, reason: RejectReason, excerpt: [UInt8])?
        var length = 0

        func finish() throws {
            defer {
                paragraph.removeAll(keepingCapacity: true)
                startLine = 0
                problem = nil
                length = 0
            }
            guard startLine > 0 else { return }
            if let problem {
                try problem.excerpt.withUnsafeBytes {
                    try onReject(RejectedRecord(file: file, line: problem.line, reason: problem.reason, raw: $0))
                }
                return
            }
            if length > options.maxRecordBytes {
                try paragraph.withUnsafeBytes {
                    try onReject(RejectedRecord(file: file, line: startLine, reason: .tooLong(bytes: length, limit: options.maxRecordBytes), raw: $0))
                }
                return
            }
            try onExample(startLine, Example(text: String(decoding: paragraph, as: UTF8.self)))
        }

        try reader.forEach { event in
            switch event {
            case let .tooLong(line, bytes, start):
                if startLine == 0 { startLine = line }
                if problem == nil { problem = (line, .tooLong(bytes: bytes, limit: options.maxRawBytes), Array(start)) }
            case let .line(line, bytes):
                if isBlankLine(bytes) {
                    try finish()
                    return
                }
                if startLine == 0 { startLine = line }
                let bad = firstInvalidUTF8Offset(bytes)
                if bad < bytes.count, problem == nil {
                    problem = (line, .invalidUTF8(offset: bad), Array(bytes.prefix(RejectedRecord.excerptLimit)))
                }
                length += (length > 0 ? 1 : 0) + bytes.count
                if problem == nil, length <= options.maxRecordBytes {
                    if !paragraph.isEmpty { paragraph.append(0x0A) }
                    paragraph.append(contentsOf: bytes)
                }
            }
        }
        try finish()
        return reader.bytesRead
    }

    /// Empty or only ASCII/Unicode white space (checked on the bytes; non-ASCII needs decoding).
    private func isBlankLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0B || $0 == 0x0C }) { return true }
        guard bytes.contains(where: { $0 >= 0x80 }), let s = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else { return false }
        return isBlank(s)
    }
}
