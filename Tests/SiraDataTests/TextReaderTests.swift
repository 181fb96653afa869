import Foundation
import Testing
@testable import SiraData

@Test func textSplitsIntoParagraphsOnBlankLines() throws {
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("book.txt")
    var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
    bytes += Array("First paragraph,\r\n  second line.\r\n\r\n \t \r\n\r\nSecond\u{3000}paragraph.\n\u{3000}\n".utf8)
    bytes += Array("Bad ".utf8) + [0xFF] + Array(" line\nsame para\n\n".utf8)
    bytes += Array(String(repeating: "x", count: 90).utf8) + [0x0A] + Array(String(repeating: "y", count: 20).utf8) + [0x0A, 0x0A]
    bytes += Array("Last, no newline".utf8)
    try write(bytes, file)
    let (examples, rejected) = try DatasetReader.readAll(file, options: ReaderOptions(maxRecordBytes: 100))
    #expect(examples == [
        Example(text: "First paragraph,\n  second line."),
        Example(text: "Second\u{3000}paragraph."),
        Example(text: "Last, no newline"),
    ])
    #expect(rejected.map(\.line) == [8, 11])
    #expect(rejected[0].reason == .invalidUTF8(offset: 4))
    #expect(rejected[1].reason == .tooLong(bytes: 111, limit: 100))
}
