import Foundation
import Testing
@testable import SiraData

@Test func jsonlReadsEveryShapeWithBOMAndCRLF() throws {
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let lines = [
        #"{"prompt": "2+2=", "completion": "4", "id": 1}"#,
        #"{"input": "hi", "output": "hello"}"#,
        "   ",
        #"{"text": "Just text.\nTwo lines."}"#,
        #"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}, {"role": "user", "content": "Bye?"}, {"role": "assistant", "content": "Bye."}]}"#,
    ]
    let file = dir.appendingPathComponent("mixed.jsonl")
    try write([0xEF, 0xBB, 0xBF] + Array(lines.joined(separator: "\r\n").utf8), file)
    var seen: [(Int, Example)] = []
    let summary = try DatasetReader.read(file, onExample: { seen.append(($0, $1)) }, onReject: { Issue.record("rejected \($0)") })
    #expect(summary.examples == 4 && summary.rejected == 0)
    #expect(summary.bytes == 3 + lines.joined(separator: "\r\n").utf8.count)
    #expect(seen.map(\.0) == [1, 2, 4, 5])
    #expect(seen[0].1 == Example(prompt: "2+2=", completion: "4"))
    #expect(seen[1].1 == Example(prompt: "hi", completion: "hello"))
    #expect(seen[2].1 == Example(prompt: "", completion: "Just text.\nTwo lines."))
    #expect(seen[3].1 == Example(prompt: "<|system|>Be brief.<|user|>Hi<|assistant|>Hey<|user|>Bye?<|assistant|>", completion: "Bye."))
}

@Test func jsonlRejectsBadRowsNamingTheirLines() throws {
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    var bytes: [UInt8] = []
    func line(_ s: String) { bytes += Array(s.utf8) + [0x0A] }
    line(#"{"prompt": "ok", "completion": "fine"}"#) // 1
    bytes += Array(#"{"text": "bad "#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8) + [0x0A] // 2: invalid UTF-8
    line(#"{"prompt": "x", "completion": }"#) // 3
    line(#"{"prompt": "only prompt"}"#) // 4
    line(#"{"completion": "   \n "  , "prompt": "p"}"#) // 5: empty completion
    line(#"{"text": ""# + String(repeating: "a", count: 300) + #""}"#) // 6: over 256 bytes
    line(#"{"title": "no known keys"}"#) // 7
    line(#"["not", "an object"]"#) // 8
    line(#"{"prompt": 3, "completion": "x"}"#) // 9
    line(#"{"messages": [{"role": "user", "content": "hi"}]}"#) // 10: last turn not assistant
    line(#"{"messages": [{"role": "robot", "content": "hi"}, {"role": "assistant", "content": "x"}]}"#) // 11
    line(#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": null}]}"#) // 12
    line(#"{"text": "last good one"}"#) // 13
    let file = dir.appendingPathComponent("bad.jsonl")
    try write(bytes, file)
    let (examples, rejected) = try DatasetReader.readAll(file, options: ReaderOptions(maxRecordBytes: 256))
    #expect(examples == [Example(prompt: "ok", completion: "fine"), Example(text: "last good one")])
    #expect(rejected.map(\.line) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    #expect(rejected.map(\.reason.code) == ["invalid_utf8", "bad_json", "missing_field", "empty", "too_long", "missing_field",
                                            "bad_json", "wrong_type", "bad_chat", "bad_chat", "wrong_type"])
    #expect(rejected[0].reason == .invalidUTF8(offset: 14))
    #expect(rejected[2].reason == .missingField("\"completion\""))
    #expect(rejected[4].reason == .tooLong(bytes: 300, limit: 256))
    #expect(rejected.allSatisfy { $0.file == file.path })
    #expect(rejected[1].description.hasPrefix("\(file.path):3: bad JSON"))
}

@Test func jsonlColumnMappingPicksFields() throws {
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("qa.jsonl")
    try write(#"{"question": "Q1", "answer": "A1", "prompt": "ignored", "completion": "ignored"}"# + "\n" + #"{"question": "Q2"}"#, file)
    let mapping = try ColumnMapping.parse("prompt=question, completion=answer")
    let (examples, rejected) = try DatasetReader.readAll(file, options: ReaderOptions(columns: mapping))
    #expect(examples == [Example(prompt: "Q1", completion: "A1")])
    #expect(rejected.map(\.line) == [2] && rejected.first?.reason == .missingField("\"answer\""))
    #expect(throws: ColumnMapping.Problem.self) { try ColumnMapping.parse("prompt=q") }
    #expect(throws: ColumnMapping.Problem.self) { try ColumnMapping.parse("answer=q") }
    #expect(throws: ColumnMapping.Problem.self) { try ColumnMapping.parse("text=a,completion=b") }
}

@Test func lineReaderHandlesChunkBoundariesAndOverlongLines() throws {
    // Lines of awkward random lengths crossing the 1 MiB chunk boundary several times, a few far
    // longer than the limit; the reference is a plain split of the bytes.
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    var rng = TestRNG(seed: 3)
    var lines: [[UInt8]] = []
    var total = 0
    while total < 2_600_000 {
        let n = Int.random(in: 0 ..< 5) == 0 ? Int.random(in: 9000 ..< 40000) : Int.random(in: 0 ..< 900)
        var l = (0 ..< n).map { _ in UInt8.random(in: 0x20 ... 0x7E, using: &rng) }
        if Bool.random(using: &rng), !l.isEmpty { l[l.count - 1] = 0x0D }
        lines.append(l)
        total += n + 1
    }
    let file = dir.appendingPathComponent("lines.txt")
    try write(Array(lines.joined(separator: [0x0A])), file)
    let reader = try LineReader(file, maxLineBytes: 8192)
    var got: [(Int, [UInt8]?, Int)] = []
    try reader.forEach { event in
        switch event {
        case let .line(number, bytes): got.append((number, Array(bytes), bytes.count))
        case let .tooLong(number, length, _): got.append((number, nil, length))
        }
    }
    // The final line is dropped by the reader only if it is empty (no bytes after the last LF).
    let expectedCount = lines.last!.isEmpty ? lines.count - 1 : lines.count
    #expect(got.count == expectedCount)
    for (i, item) in got.enumerated() {
        var want = lines[i]
        if want.last == 0x0D { want.removeLast() }
        #expect(item.0 == i + 1)
        if lines[i].count > 8192 {
            #expect(item.1 == nil && item.2 == lines[i].count)
        } else {
            #expect(item.1 == want)
        }
        if item.0 != i + 1 { break }
    }
    #expect(reader.bytesRead == total - 1)
}
