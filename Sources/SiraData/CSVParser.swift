import Foundation

/// A streaming RFC 4180 parser: records are separated by LF or CRLF, fields by `delimiter`
/// (',' for CSV, TAB for TSV), a field that starts with '"' is quoted and may hold delimiters,
/// doubled quotes and line breaks (a CRLF inside quotes is read as LF). A quote inside an unquoted
/// field is taken literally, as most CSV writers expect. A UTF-8 byte-order mark before the header
/// is dropped. Blank lines are skipped.
///
/// Memory is bounded: a record longer than `maxRecordBytes` is reported as `.bad` and the parser
/// resynchronises at the next line break.
struct CSVParser {
    enum Event {
        /// A complete record and the line it starts on; fields are raw bytes (not yet UTF-8 checked).
        case record(line: Int, fields: [[UInt8]])
        case bad(line: Int, reason: RejectReason, excerpt: [UInt8])
    }

    let delimiter: UInt8
    let maxRecordBytes: Int

    private enum State { case fieldStart, unquoted, quoted, quoteSeen, closedCR, skipping }

    func parse(_ file: ChunkedFileReader, _ body: (Event) throws -> Void) throws {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        var state = State.fieldStart
        var field: [UInt8] = []
        var fields: [[UInt8]] = []
        var recordBytes = 0
        var line = 1
        var recordLine = 1
        var quotedLine = 1
        var anyQuoted = false
        var problem: String?
        var excerpt: [UInt8] = []
        var first = true

        func endField() {
            fields.append(field)
            field.removeAll(keepingCapacity: true)
        }
        func reset() {
            fields.removeAll(keepingCapacity: true)
            field.removeAll(keepingCapacity: true)
            excerpt.removeAll(keepingCapacity: true)
            recordBytes = 0
            anyQuoted = false
            problem = nil
            state = .fieldStart
        }
        func endRecord() throws {
            endField()
            if let problem {
                try body(.bad(line: recordLine, reason: .badCSV(problem), excerpt: excerpt))
            } else if !(fields.count == 1 && fields[0].isEmpty && !anyQuoted) {
                try body(.record(line: recordLine, fields: fields))
            }
            reset()
        }

        let quote = UInt8(ascii: "\"")
        let lf: UInt8 = 0x0A
        let cr: UInt8 = 0x0D
        while true {
            let n = try file.read(into: chunk, offset: 0)
            if n == 0 { break }
            var i = 0
            if first {
                first = false
                if n >= 3, chunk[0] == 0xEF, chunk[1] == 0xBB, chunk[2] == 0xBF { i = 3 }
            }
            while i < n {
                let c = chunk[i]
                i += 1
                if state == .skipping {
                    if c == lf {
                        line += 1
                        reset()
                        recordLine = line
                    }
                    continue
                }
                if recordBytes == 0, fields.isEmpty, state == .fieldStart { recordLine = line }
                recordBytes += 1
                if excerpt.count < RejectedRecord.excerptLimit { excerpt.append(c) }
                if recordBytes > maxRecordBytes {
                    try body(.bad(line: recordLine, reason: .tooLong(bytes: recordBytes, limit: maxRecordBytes), excerpt: excerpt))
                    state = .skipping
                    if c == lf {
                        line += 1
                        reset()
                    }
                    continue
                }
                switch state {
                case .fieldStart:
                    if c == quote {
                        state = .quoted
                        anyQuoted = true
                        quotedLine = line
                    } else if c == delimiter {
                        endField()
                    } else if c == lf {
                        line += 1
                        try endRecord()
                    } else {
                        field.append(c)
                        state = .unquoted
                    }
                case .unquoted:
                    if c == delimiter {
                        endField()
                        state = .fieldStart
                    } else if c == lf {
                        line += 1
                        if field.last == cr { field.removeLast() }
                        try endRecord()
                    } else {
                        field.append(c)
                    }
                case .quoted:
                    if c == quote {
                        state = .quoteSeen
                    } else {
                        if c == lf {
                            line += 1
                            if field.last == cr { field.removeLast() }
                        }
                        field.append(c)
                    }
                case .quoteSeen:
                    if c == quote {
                        field.append(quote)
                        state = .quoted
                    } else if c == delimiter {
                        endField()
                        state = .fieldStart
                    } else if c == lf {
                        line += 1
                        try endRecord()
                    } else if c == cr {
                        state = .closedCR
                    } else {
                        problem = problem ?? "unexpected \(describe(c)) after the closing quote of field \(fields.count + 1)"
                        field.append(c)
                        state = .unquoted
                    }
                case .closedCR:
                    if c == lf {
                        line += 1
                        try endRecord()
                    } else {
                        problem = problem ?? "carriage return after the closing quote of field \(fields.count + 1)"
                        field.append(c)
                        state = c == delimiter ? .fieldStart : .unquoted
                    }
                case .skipping:
                    break
                }
            }
        }
        switch state {
        case .skipping:
            break
        case .quoted:
            try body(.bad(line: recordLine, reason: .badCSV("unterminated quoted field (opened on line \(quotedLine))"), excerpt: excerpt))
        default:
            if recordBytes > 0 {
                if state == .unquoted, field.last == cr { field.removeLast() }
                try endRecord()
            }
        }
    }

    private func describe(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(String(UnicodeScalar(c)))'" : String(format: "byte 0x%02X", c)
    }
}
