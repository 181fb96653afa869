/// Writes a POSIX (ustar + pax) tar stream of regular files into a byte sink. Names longer than
/// 100 bytes or not plain ASCII, and sizes of 8 GiB or more, get a pax extended header first, which
/// GNU tar, bsdtar and Python's tarfile all read.
struct TarWriter {
    let sink: (UnsafeRawBufferPointer) throws -> Void
    private static let zeros = [UInt8](repeating: 0, count: TarFormat.blockSize * 2)

    init(sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.sink = sink
    }

    /// Writes the header(s) of a regular file of `size` bytes; the caller then writes exactly
    /// `size` bytes of data with `writeData` and calls `endFile(size:)`.
    func beginFile(name: String, size: Int64, mtime: Int64) throws {
        var pax: [(String, String)] = []
        let plain = name.utf8.count <= 100 && name.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        if !plain { pax.append(("path", name)) }
        if size > TarFormat.maxOctalSize { pax.append(("size", String(size))) }
        if !pax.isEmpty {
            let records = TarFormat.paxRecords(pax)
            let paxName = "PaxHeaders/" + String(decoding: name.replacingNonASCII().utf8.suffix(80), as: UTF8.self)
            try write(TarFormat.header(name: paxName, size: Int64(records.count), mtime: mtime,
                                       type: TarFormat.TypeFlag.paxExtended.rawValue))
            try write(records)
            try write(Array(Self.zeros.prefix(TarFormat.padding(Int64(records.count)))))
        }
        let shortName = plain ? name : String(decoding: name.replacingNonASCII().utf8.suffix(100), as: UTF8.self)
        try write(TarFormat.header(name: shortName, size: size > TarFormat.maxOctalSize ? 0 : size, mtime: mtime))
    }

    func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        try sink(bytes)
    }

    /// Pads the file's data to the block size.
    func endFile(size: Int64) throws {
        try write(Array(Self.zeros.prefix(TarFormat.padding(size))))
    }

    /// A whole small file at once.
    func addFile(name: String, contents: [UInt8], mtime: Int64) throws {
        try beginFile(name: name, size: Int64(contents.count), mtime: mtime)
        try write(contents)
        try endFile(size: Int64(contents.count))
    }

    /// The end-of-archive marker: two zero blocks.
    func finish() throws {
        try write(Self.zeros)
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try sink($0) }
    }
}

private extension String {
    /// ASCII stand-in for a header's fallback name field (the real name is in the pax record).
    func replacingNonASCII() -> String {
        String(decoding: utf8.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
    }
}
