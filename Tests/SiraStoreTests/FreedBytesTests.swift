#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SiraIO
import Testing
@testable import SiraStore

/// A hard-linked file's bytes are freed once, and only when every link is removed.
@Test func freedBytesCountsAHardLinkedFileOnceAndOnlyWhenAllItsLinksGo() throws {
    let dir = try scratchFolder("freed")
    defer { try? FileManager.default.removeItem(at: dir) }
    let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b"), c = dir.appendingPathComponent("c")
    for f in [a, b, c] { try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true) }
    try AtomicFile.write([UInt8](repeating: 1, count: 129), to: a.appendingPathComponent("pkg"))
    try AtomicFile.write([UInt8](repeating: 2, count: 33), to: a.appendingPathComponent("only-a"))
    try AtomicFile.write([UInt8](repeating: 3, count: 7), to: c.appendingPathComponent("nested/deep"))
    #expect(link(a.appendingPathComponent("pkg").path, b.appendingPathComponent("pkg").path) == 0)
    #expect(link(a.appendingPathComponent("pkg").path, b.appendingPathComponent("pkg2").path) == 0)
    #expect(symlink(a.appendingPathComponent("only-a").path, c.appendingPathComponent("to-a").path) == 0)

    #expect(FreedBytes.removing([a]) == 33)             // pkg keeps two links in b
    #expect(FreedBytes.removing([b]) == 0)
    #expect(FreedBytes.removing([a, b]) == 129 + 33)    // all three links of pkg go, counted once
    #expect(FreedBytes.removing([c]) == 7)              // the symlink frees its target nothing
    #expect(FreedBytes.removing([a, a, c]) == 33 + 7)   // a folder named twice is counted once
    #expect(FreedBytes.removing([dir]) == 129 + 33 + 7)
    #expect(FreedBytes.removing([dir.appendingPathComponent("missing")]) == 0)
}
