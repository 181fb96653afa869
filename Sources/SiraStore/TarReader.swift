/// Reads a tar stream (from `ZstdReader`) entry by entry, refusing anything a package must not
/// contain (DESIGN.md §8): absolute paths, `..` components, links, devices, fifos, unknown types,
/// duplicates, more than the entry limit, and more decompressed bytes than the bound.
///
/// Directory entries are tolerated and skipped (after the same name checks): `tar -C dir .` emits
/// them, they carry no data, and the reader never creates anything from their metadata.
/// Names come out normalised: no leading `./`, no empty or `.` components.
final class TarReader {
    struct Entry {
        var name: String
        var size: Int64
    }

    private let source: ZstdReader
    private let limit: Int64
    private let maxEntries: Int
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0, end = 0
    private var sourceDone = false
    /// Decompressed bytes pulled from the source so far (what the bound applies to).
    private(set) var consumed: Int64 = 0
    /// Data bytes of the current entry not yet read, and the padding after them.
    private var dataLeft: Int64 = 0
    private var paddingLeft = 0
    private var current: String?
    private var entries = 0
    private var names: Set<String> = []
    private var folders: Set<String> = []
    private var finished = false

    init(source: ZstdReader, limit: Int64, maxEntries: Int) {
        self.source = source
        self.limit = limit
        self.maxEntries = maxEntries
        buffer = .allocate(byteCount: 1 << 20, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// The next regular file, or nil after the end-of-archive marker (and only zeros after it).
    /// Skips whatever of the previous entry's data was not read.
    func next() throws -> Entry? {
        if finished { return nil }
        try skipRest()
        var paxPath: String?, paxSize: Int64?, longName: String?, longLink: String?
        while true {
            guard try fill(TarFormat.blockSize) else { throw EntryFailure(entry: nil, problem: .truncated) }
            let block = UnsafeRawBufferPointer(rebasing: buffer[start ..< start + TarFormat.blockSize])
            if TarFormat.isZero(block) {
                start += TarFormat.blockSize
                try expectOnlyZerosToTheEnd()
                finished = true
                return nil
            }
            let header: TarFormat.RawHeader
            do {
                header = try TarFormat.parse(block)
            } catch {
                throw EntryFailure(entry: longName ?? paxPath, problem: .corruptHeader(Self.words(error)))
            }
            start += TarFormat.blockSize
            let rawName = paxPath ?? longName ?? header.name
            let size = paxSize ?? header.size
            try checkBudget(size, entry: rawName)
            switch TarFormat.TypeFlag(rawValue: header.type) {
            case .paxExtended:
                guard let records = TarFormat.parsePax(try readSmall(size, max: 1 << 20, entry: rawName)) else {
                    throw EntryFailure(entry: rawName, problem: .corruptHeader("malformed pax extended header"))
                }
                if let path = records["path"] { paxPath = path }
                if let text = records["size"] {
                    guard let s = Int64(text), s >= 0 else {
                        throw EntryFailure(entry: paxPath, problem: .corruptHeader("pax size '\(text)'"))
                    }
                    paxSize = s
                }
                if let link = records["linkpath"] { longLink = link }
                continue
            case .paxGlobal:
                _ = try readSmall(size, max: 1 << 20, entry: rawName)
                continue
            case .gnuLongName:
                longName = Self.trimNUL(try readSmall(size, max: 1 << 16, entry: rawName))
                continue
            case .gnuLongLink:
                longLink = Self.trimNUL(try readSmall(size, max: 1 << 16, entry: rawName))
                continue
            case .hardLink, .symbolicLink:
                throw EntryFailure(entry: rawName, problem: .link(target: longLink ?? header.linkName))
            case .directory:
                let name = try Self.safeName(rawName)
                try countEntry(rawName)
                if !name.isEmpty {
                    if names.contains(name) { throw EntryFailure(entry: rawName, problem: .duplicate) }
                    folders.insert(name)
                }
                dataLeft = size
                paddingLeft = TarFormat.padding(size)
                try skipRest()
                paxPath = nil; paxSize = nil; longName = nil; longLink = nil
                continue
            case .regular, .regularOld, .contiguous:
                let name = try Self.safeName(rawName)
                guard !name.isEmpty else { throw EntryFailure(entry: rawName, problem: .unsafeName) }
                try countEntry(rawName)
                try claim(name, raw: rawName)
                dataLeft = size
                paddingLeft = TarFormat.padding(size)
                current = name
                return Entry(name: name, size: size)
            case .characterDevice, .blockDevice, .fifo, nil:
                let flag = header.type == 0 ? "NUL" : String(UnicodeScalar(header.type))
                throw EntryFailure(entry: rawName, problem: .notRegular(type: flag))
            }
        }
    }

    /// Streams the current entry's remaining data to `body` in chunks (views into the reader's
    /// buffer, valid only during the call).
    func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while dataLeft > 0 {
            if start == end {
                guard try refill() else { throw EntryFailure(entry: current, problem: .truncated) }
            }
            let n = Int(min(Int64(end - start), dataLeft))
            try body(UnsafeRawBufferPointer(rebasing: buffer[start ..< start + n]))
            start += n
            dataLeft -= Int64(n)
        }
        try skipPadding()
    }

    // MARK: - Checks

    /// `raw` as a safe relative path, or the reason it is not one.
    static func safeName(_ raw: String) throws -> String {
        if raw.hasPrefix("/") { throw EntryFailure(entry: raw, problem: .absolutePath) }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw EntryFailure(entry: raw, problem: .parentComponent) }
            if part.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" }) {
                throw EntryFailure(entry: raw, problem: .unsafeName)
            }
            parts.append(part)
        }
        if raw.isEmpty { throw EntryFailure(entry: raw, problem: .unsafeName) }
        return parts.joined(separator: "/")
    }

    private func countEntry(_ raw: String) throws {
        entries += 1
        if entries > maxEntries { throw EntryFailure(entry: raw, problem: .tooManyEntries(limit: maxEntries)) }
    }

    /// A file name must be new, not a folder of another entry, and none of its folders a file.
    private func claim(_ name: String, raw: String) throws {
        if names.contains(name) || folders.contains(name) { throw EntryFailure(entry: raw, problem: .duplicate) }
        var prefix = ""
        for part in name.split(separator: "/").dropLast() {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if names.contains(prefix) { throw EntryFailure(entry: raw, problem: .duplicate) }
            folders.insert(prefix)
        }
        names.insert(name)
    }

    private func checkBudget(_ size: Int64, entry: String) throws {
        let need = size + Int64(TarFormat.padding(size))
        if size < 0 || need > limit - consumed + Int64(end - start) {
            throw EntryFailure(entry: entry, problem: .tooLarge(limit: limit))
        }
    }

    private func expectOnlyZerosToTheEnd() throws {
        current = nil
        while true {
            if start == end { guard try refill() else { return } }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[start ..< end])
            if !TarFormat.isZero(chunk) { throw EntryFailure(entry: nil, problem: .trailingData) }
            start = end
        }
    }

    // MARK: - Buffering

    private func readSmall(_ size: Int64, max: Int, entry: String) throws -> [UInt8] {
        guard size <= Int64(max) else {
            throw EntryFailure(entry: entry, problem: .corruptHeader("extended header of \(size) bytes"))
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(size))
        dataLeft = size
        paddingLeft = TarFormat.padding(size)
        let saved = current
        current = entry
        try readData { out.append(contentsOf: $0) }
        current = saved
        return out
    }

    private func skipRest() throws {
        try readData { _ in }
    }

    private func skipPadding() throws {
        while paddingLeft > 0 {
            if start == end {
                guard try refill() else { throw EntryFailure(entry: current, problem: .truncated) }
            }
            let n = min(end - start, paddingLeft)
            start += n
            paddingLeft -= n
        }
    }

    /// Ensures `n` contiguous bytes are buffered; false at the end of the stream.
    private func fill(_ n: Int) throws -> Bool {
        while end - start < n {
            if start > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
                end -= start
                start = 0
            }
            guard try pull() else { return false }
        }
        return true
    }

    /// Replaces the (fully consumed) buffer with fresh bytes; false at the end of the stream.
    private func refill() throws -> Bool {
        start = 0
        end = 0
        return try pull()
    }

    private func pull() throws -> Bool {
        if sourceDone { return false }
        let n: Int
        do {
            n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        } catch let error as ZstdError {
            throw EntryFailure(entry: source.frameLabel ?? current, problem: .zstd(error.message))
        }
        if n == 0 {
            sourceDone = true
            return false
        }
        consumed += Int64(n)
        if consumed > limit { throw EntryFailure(entry: current, problem: .tooLarge(limit: limit)) }
        end += n
        return true
    }

    private static func trimNUL(_ bytes: [UInt8]) -> String {
        var b = bytes[...]
        while b.last == 0 { b = b.dropLast() }
        return String(decoding: b, as: UTF8.self)
    }

    private static func words(_ problem: TarFormat.HeaderProblem) -> String {
        switch problem {
        case .badChecksum: return "header checksum does not match"
        case .notUstar: return "not a ustar/pax/GNU tar header"
        case let .badNumber(field): return "field '\(field)' is not a number"
        }
    }
}
