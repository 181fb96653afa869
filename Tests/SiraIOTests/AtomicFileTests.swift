import Foundation
import Testing
@testable import SiraIO

private func scratchFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("siraio-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Test func atomicWriteReplacesAndLeavesNoTemporaries() throws {
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("sub/out.txt")
    try AtomicFile.write("first", to: file)
    try AtomicFile.write("second", to: file)
    #expect(try String(contentsOf: file, encoding: .utf8) == "second")
    #expect(try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path) == ["out.txt"])
}

@Test func failedWriteKeepsTheOldFile() throws {
    struct Boom: Error {}
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("keep.txt")
    try AtomicFile.write("old", to: file)
    #expect(throws: Boom.self) {
        try AtomicFile.write(to: file) { handle in
            try handle.write(contentsOf: Data("partial".utf8))
            throw Boom()
        }
    }
    #expect(try String(contentsOf: file, encoding: .utf8) == "old")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["keep.txt"])
}

@Test func publishReplacesAFolder() throws {
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let dest = dir.appendingPathComponent("snap")
    try AtomicFile.write("v1", to: dest.appendingPathComponent("a"))
    let tmp = AtomicFile.temporaryURL(for: dest)
    try AtomicFile.write("v2", to: tmp.appendingPathComponent("a"))
    try AtomicFile.publish(tmp, to: dest)
    #expect(try String(contentsOf: dest.appendingPathComponent("a"), encoding: .utf8) == "v2")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["snap"])
}

@Test func sha256MatchesKnownVectorsAndStreaming() throws {
    // FIPS 180-2 test vectors.
    #expect(ContentHash.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(ContentHash.sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("big.bin")
    let bytes = (0 ..< (3 << 20) + 7).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    try AtomicFile.write(bytes, to: file)
    #expect(try ContentHash.sha256(file: file) == ContentHash.sha256(bytes))
    let mapped = try MappedFile(file)
    #expect(mapped.count == bytes.count && mapped.bytes[12345] == bytes[12345])
}
