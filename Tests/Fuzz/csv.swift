import Foundation

// libFuzzer entry: SiraData's streaming CSV/TSV parser (quoted fields, CRLF, BOM, the record size
// bound) on arbitrary bytes, through a scratch file as ingest reads one. Any outcome but records
// and `.bad` events (with their line numbers increasing) is a bug.
private let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sira-fuzz-csv-\(getpid()).csv")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard (try? bytes.write(to: scratch)) != nil, let reader = try? ChunkedFileReader(scratch) else { return 0 }
    for delimiter in [UInt8(ascii: ","), UInt8(ascii: "\t")] {
        guard let again = try? ChunkedFileReader(scratch) else { return 0 }
        var last = 0
        try? CSVParser(delimiter: delimiter, maxRecordBytes: 256).parse(delimiter == UInt8(ascii: ",") ? reader : again) { event in
            switch event {
            case let .record(line, _), let .bad(line, _, _):
                precondition(line >= last, "line numbers go back: \(line) after \(last)")
                last = line
            }
        }
    }
    return 0
}
