import Foundation
import Testing
@testable import SiraStore

@Test func paxRecordLengthsCountThemselves() throws {
    // "<len> path=<v>\n": the length includes its own digits; 9 -> 10 and 99 -> 100 roll over.
    for valueLength in [1, 2, 3, 85, 86, 87, 88, 89, 90, 989, 990, 991, 992, 993] {
        let value = String(repeating: "v", count: valueLength)
        let bytes = TarFormat.paxRecords([("path", value)])
        let text = String(decoding: bytes, as: UTF8.self)
        let declared = try #require(Int(text.prefix { $0 != " " }))
        #expect(declared == bytes.count, "value of \(valueLength)")
        #expect(TarFormat.parsePax(bytes) == ["path": value])
    }
    let two = TarFormat.paxRecords([("path", "a/b"), ("size", "8589934592")])
    #expect(TarFormat.parsePax(two) == ["path": "a/b", "size": "8589934592"])
    // Malformed: a length longer than the data, a record without '=' or newline.
    #expect(TarFormat.parsePax(Array("30 path=x\n".utf8)) == nil)
    #expect(TarFormat.parsePax(Array("10 pathx\n".utf8)) == nil)
    #expect(TarFormat.parsePax(Array("11 path=xy ".utf8)) == nil)
}

@Test func headersRoundTripAndGNUBase256SizesParse() throws {
    let header = TarFormat.header(name: "dir/file.bin", size: 129 * 1024 + 7, mtime: 1_700_000_000)
    let parsed = try header.withUnsafeBytes { try TarFormat.parse($0) }
    #expect(parsed.name == "dir/file.bin" && parsed.size == 129 * 1024 + 7 && parsed.type == 0x30)
    // Python's tarfile reads the same header as we wrote it.
    let py = try runTool(["python3", "-c", """
        import sys, tarfile
        h = sys.stdin.buffer.read()
        t = tarfile.TarInfo.frombuf(h, 'utf-8', 'surrogateescape')
        print(t.name, t.size, t.mtime, oct(t.mode), t.type)
        """], stdin: Data(header))
    #expect(py.out == "dir/file.bin 132103 1700000000 0o644 b'0'\n", "\(py.err)")

    // GNU tar writes sizes of 8 GiB and more in base-256: 0x80 then big-endian bytes.
    var big = header
    let size: Int64 = 9 << 30 + 33
    big[124] = 0x80
    for i in 0 ..< 11 { big[125 + i] = UInt8(truncatingIfNeeded: size >> (8 * (10 - i))) }
    let sum = TarFormat.checksum(big)
    let octal = Array(String(sum, radix: 8).utf8)
    for i in 0 ..< 8 { big[148 + i] = 0 }
    for (i, c) in ([UInt8](repeating: 0x30, count: 6 - octal.count) + octal).enumerated() { big[148 + i] = c }
    big[155] = 0x20
    let parsedBig = try big.withUnsafeBytes { try TarFormat.parse($0) }
    #expect(parsedBig.size == size)

    // One flipped byte breaks the checksum.
    var broken = header
    broken[5] ^= 1
    #expect(throws: TarFormat.HeaderProblem.badChecksum) { try broken.withUnsafeBytes { try TarFormat.parse($0) } }
}
