import Foundation

// libFuzzer entry: SiraIO's GGUF reader (header, metadata of every type, tensor table, offsets and
// sizes) on arbitrary bytes, through a scratch file as `--model FILE.gguf` reads one (mmap). Any
// outcome but a thrown GGUFError or a file whose every tensor lies inside it is a bug.
private let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sira-fuzz-gguf-\(getpid()).gguf")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard (try? bytes.write(to: scratch)) != nil else { return 0 }
    guard let file = try? GGUFFile(scratch) else { return 0 }
    for t in file.tensors {
        precondition(t.offset >= 0 && t.byteCount >= 0 && t.offset + t.byteCount <= size, "tensor \(t.name) outside the file")
        precondition(file.tensor(t.name) == t)
    }
    return 0
}
