import Foundation

/// Reads one dataset file as a stream of examples and rejected rows, whatever its format.
///
/// Streaming contract: `onExample` and `onReject` are called in file order while the file is read
/// in bounded chunks; nothing retains the file. A problem with the file as a whole (cannot be
/// opened, unknown type, a CSV header lacking the mapped columns) throws `DatasetFileError`;
/// a problem with a row never throws, it becomes a `RejectedRecord`.
public enum DatasetReader {
    public struct Summary: Sendable, Equatable {
        public var examples = 0
        public var rejected = 0
        /// Bytes read from the file (its size, unless reading stopped early).
        public var bytes = 0
    }

    public static func read(
        _ url: URL,
        format: DatasetFormat? = nil,
        options: ReaderOptions = ReaderOptions(),
        onExample: (_ line: Int, _ example: Example) throws -> Void,
        onReject: (RejectedRecord) throws -> Void
    ) throws -> Summary {
        guard let format = format ?? DatasetFormat.of(url) else {
            throw DatasetFileError.unsupportedType(url.path, url.pathExtension.isEmpty ? "(none)" : "." + url.pathExtension)
        }
        var summary = Summary()
        let countingExample: (Int, Example) throws -> Void = { line, example in
            summary.examples += 1
            try onExample(line, example)
        }
        let countingReject: (RejectedRecord) throws -> Void = { reject in
            summary.rejected += 1
            try onReject(reject)
        }
        let bytes: Int
        switch format {
        case .jsonl:
            bytes = try JSONLRecordReader(options: options).read(url, onExample: countingExample, onReject: countingReject)
        case .csv, .tsv:
            bytes = try CSVRecordReader(delimiter: format == .csv ? UInt8(ascii: ",") : 0x09, options: options)
                .read(url, onExample: countingExample, onReject: countingReject)
        case .text:
            bytes = try TextRecordReader(options: options).read(url, onExample: countingExample, onReject: countingReject)
        }
        summary.bytes = bytes
        return summary
    }

    /// Reads a whole (small) file into memory: for tests and tools, not for ingest.
    public static func readAll(_ url: URL, format: DatasetFormat? = nil, options: ReaderOptions = ReaderOptions()) throws
        -> (examples: [Example], rejected: [RejectedRecord])
    {
        var examples: [Example] = []
        var rejected: [RejectedRecord] = []
        _ = try read(url, format: format, options: options, onExample: { examples.append($1) }, onReject: { rejected.append($0) })
        return (examples, rejected)
    }
}

/// Checks shared by all formats once a row has become an example: a completion with text, and
/// the length limit.
func checkExample(_ example: Example, completionField: String, limit: Int) -> RejectReason? {
    if isBlank(example.completion) { return .empty(field: completionField) }
    let n = example.byteCount
    if n > limit { return .tooLong(bytes: n, limit: limit) }
    return nil
}

/// The string of a UTF-8 byte sequence, or the offset of its first invalid byte.
func decodeUTF8(_ bytes: UnsafeRawBufferPointer) -> Result<String, RejectReason> {
    if let s = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) { return .success(s) }
    return .failure(.invalidUTF8(offset: firstInvalidUTF8Offset(bytes)))
}

/// Offset of the first byte that does not belong to a well-formed UTF-8 sequence.
func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int {
    var i = 0
    let n = bytes.count
    while i < n {
        let b = bytes[i]
        let len: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch b {
        case 0x00 ... 0x7F: i += 1; continue
        case 0xC2 ... 0xDF: len = 2
        case 0xE0: len = 3; lo = 0xA0
        case 0xE1 ... 0xEC, 0xEE ... 0xEF: len = 3
        case 0xED: len = 3; hi = 0x9F
        case 0xF0: len = 4; lo = 0x90
        case 0xF1 ... 0xF3: len = 4
        case 0xF4: len = 4; hi = 0x8F
        default: return i
        }
        guard i + len <= n else { return i }
        let b1 = bytes[i + 1]
        guard b1 >= lo, b1 <= hi else { return i }
        for k in 2 ..< len where bytes[i + k] & 0xC0 != 0x80 { return i }
        i += len
    }
    return n
}
