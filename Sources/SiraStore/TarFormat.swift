/// The POSIX tar header (ustar, with pax extended headers), encoded and decoded by hand: the
/// package format must be readable by GNU tar and bsdtar, and the reader must trust nothing.
///
/// A header is one 512-byte block; file data follows, padded to a 512-byte multiple; two zero
/// blocks end the archive. Numeric fields are octal ASCII (GNU tar also writes big values in
/// base-256, which the decoder accepts).
enum TarFormat {
    static let blockSize = 512

    /// Type flags the reader knows. Everything else is refused.
    enum TypeFlag: UInt8 {
        case regular = 0x30        // '0'
        case regularOld = 0x00     // NUL (pre-POSIX regular file)
        case hardLink = 0x31       // '1'
        case symbolicLink = 0x32   // '2'
        case characterDevice = 0x33
        case blockDevice = 0x34
        case directory = 0x35      // '5'
        case fifo = 0x36
        case contiguous = 0x37     // '7', a regular file to every modern reader
        case paxExtended = 0x78    // 'x': applies to the next entry
        case paxGlobal = 0x67      // 'g'
        case gnuLongName = 0x4C    // 'L': the next entry's name, as data
        case gnuLongLink = 0x4B    // 'K': the next entry's link target, as data
    }

    // MARK: Encoding

    /// A ustar header for a regular file. `name` must fit (≤ 100 UTF-8 bytes, no NUL); longer
    /// names go in a pax header first (`paxRecords`).
    static func header(name: String, size: Int64, mtime: Int64, mode: Int = 0o644,
                       type: UInt8 = TypeFlag.regular.rawValue) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        put(Array(name.utf8.prefix(100)), at: 0, in: &block)
        putOctal(Int64(mode), at: 100, width: 8, in: &block)
        putOctal(0, at: 108, width: 8, in: &block)           // uid
        putOctal(0, at: 116, width: 8, in: &block)           // gid
        putOctal(size, at: 124, width: 12, in: &block)
        putOctal(mtime, at: 136, width: 12, in: &block)
        block[156] = type
        put(Array("ustar\0".utf8), at: 257, in: &block)
        put(Array("00".utf8), at: 263, in: &block)
        put(Array("root".utf8), at: 265, in: &block)         // uname
        put(Array("root".utf8), at: 297, in: &block)         // gname
        let sum = checksum(block)
        putOctal(Int64(sum), at: 148, width: 7, in: &block)  // 6 digits + NUL ...
        block[155] = 0x20                                    // ... + space, as GNU tar writes it
        return block
    }

    /// The data of a pax extended header: records `"<len> <key>=<value>\n"`, where `<len>` counts
    /// the whole record including its own digits.
    static func paxRecords(_ records: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, value) in records {
            let body = " \(key)=\(value)\n"
            let bodyCount = body.utf8.count
            var length = bodyCount + 1
            while String(length).utf8.count + bodyCount != length { length = String(length).utf8.count + bodyCount }
            out += Array("\(length)\(body)".utf8)
        }
        return out
    }

    /// Bytes of zero padding after `size` bytes of data.
    static func padding(_ size: Int64) -> Int {
        let r = Int(size % Int64(blockSize))
        return r == 0 ? 0 : blockSize - r
    }

    static func checksum(_ block: [UInt8]) -> Int {
        var sum = 0
        for i in 0 ..< blockSize { sum += (148 ..< 156).contains(i) ? 0x20 : Int(block[i]) }
        return sum
    }

    private static func put(_ bytes: [UInt8], at offset: Int, in block: inout [UInt8]) {
        for (i, b) in bytes.enumerated() { block[offset + i] = b }
    }

    /// Zero-padded octal of `width - 1` digits and a NUL.
    private static func putOctal(_ value: Int64, at offset: Int, width: Int, in block: inout [UInt8]) {
        let digits = Array(String(value, radix: 8).utf8)
        precondition(digits.count <= width - 1, "tar: \(value) does not fit in \(width - 1) octal digits")
        let padded = [UInt8](repeating: 0x30, count: width - 1 - digits.count) + digits
        put(padded + [0], at: offset, in: &block)
    }

    /// The largest size a ustar size field holds (11 octal digits); beyond it a pax `size` record.
    static let maxOctalSize: Int64 = (1 << 33) - 1

    // MARK: Decoding

    /// The fields of one header block the reader uses.
    struct RawHeader {
        var name: String
        var linkName: String
        var size: Int64
        var type: UInt8
    }

    /// Why a header block is not a tar header the reader accepts.
    enum HeaderProblem: Error, Equatable {
        case badChecksum
        case notUstar
        case badNumber(String)
    }

    /// True for an all-zero block (the end-of-archive marker).
    static func isZero(_ block: UnsafeRawBufferPointer) -> Bool {
        block.allSatisfy { $0 == 0 }
    }

    static func parse(_ block: UnsafeRawBufferPointer) throws(HeaderProblem) -> RawHeader {
        precondition(block.count == blockSize)
        var stored = 0
        do {
            stored = Int(try number(block, 148, 8, "chksum"))
        } catch {
            throw .badChecksum
        }
        var unsigned = 0, signed = 0
        for i in 0 ..< blockSize {
            let b = (148 ..< 156).contains(i) ? UInt8(0x20) : block[i]
            unsigned += Int(b)
            signed += Int(Int8(bitPattern: b))
        }
        guard stored == unsigned || stored == signed else { throw .badChecksum }
        // "ustar\0" + "00" (POSIX) or "ustar  \0" (GNU).
        let magic = Array(block[257 ..< 263])
        guard magic == Array("ustar\0".utf8) || magic == Array("ustar ".utf8) else { throw .notUstar }
        var name = string(block, 0, 100)
        let prefix = magic == Array("ustar\0".utf8) ? string(block, 345, 155) : ""
        if !prefix.isEmpty { name = prefix + "/" + name }
        return RawHeader(name: name, linkName: string(block, 157, 100), size: try number(block, 124, 12, "size"),
                         type: block[156])
    }

    /// A NUL-terminated (or full-width) field as UTF-8.
    private static func string(_ block: UnsafeRawBufferPointer, _ offset: Int, _ width: Int) -> String {
        var end = offset
        while end < offset + width, block[end] != 0 { end += 1 }
        return String(decoding: block[offset ..< end], as: UTF8.self)
    }

    /// An octal field (spaces/NUL padded) or GNU base-256 (high bit of the first byte set).
    private static func number(_ block: UnsafeRawBufferPointer, _ offset: Int, _ width: Int,
                               _ field: String) throws(HeaderProblem) -> Int64 {
        let first = block[offset]
        if first & 0x80 != 0 {
            guard first == 0x80 else { throw .badNumber(field) } // negative or oversized
            var value: Int64 = 0
            for i in offset + 1 ..< offset + width {
                guard value < (Int64.max >> 8) else { throw .badNumber(field) }
                value = value << 8 | Int64(block[i])
            }
            return value
        }
        var value: Int64 = 0
        var seenDigit = false, ended = false
        for i in offset ..< offset + width {
            let c = block[i]
            if c == 0x20 || c == 0 {
                if seenDigit { ended = true }
                continue
            }
            guard !ended, (0x30 ... 0x37).contains(c), value < (Int64.max >> 3) else { throw .badNumber(field) }
            value = value << 3 | Int64(c - 0x30)
            seenDigit = true
        }
        return value
    }

    /// Parses pax records; refuses malformed ones (a record must fit its declared length).
    static func parsePax(_ data: [UInt8]) -> [String: String]? {
        var records: [String: String] = [:]
        var i = 0
        while i < data.count {
            var length = 0, j = i
            while j < data.count, (0x30 ... 0x39).contains(data[j]) {
                length = length * 10 + Int(data[j] - 0x30)
                guard length <= data.count else { return nil }
                j += 1
            }
            guard j < data.count, data[j] == 0x20, length > j - i + 1, i + length <= data.count,
                  data[i + length - 1] == 0x0A else { return nil }
            let record = data[(j + 1) ..< (i + length - 1)]
            guard let eq = record.firstIndex(of: 0x3D) else { return nil }
            records[String(decoding: record[record.startIndex ..< eq], as: UTF8.self)] =
                String(decoding: record[(eq + 1)...], as: UTF8.self)
            i += length
        }
        return records
    }
}
