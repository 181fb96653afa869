import Foundation
import Testing
@testable import SiraData

@Test func csvHandlesQuotingNewlinesCRLFAndBOM() throws {
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let text = "\u{FEFF}id,question , Answer\r\n"
        + "1,\"What is 1,2?\",\"a \"\"list\"\"\"\r\n"
        + "2,\"multi\r\nline\nprompt\",plain answer\r\n"
        + "\r\n"
        + "3,unquoted \"inner\" quotes,\"\"\r\n"
        + "4,too,many,fields\r\n"
        + "5,\"bad\"quote,x\r\n"
        + "6,last,\"no newline at end\""
    let file = dir.appendingPathComponent("qa.csv")
    try write(text, file)
    let mapping = ColumnMapping(prompt: "QUESTION", completion: "answer")
    let (examples, rejected) = try DatasetReader.readAll(file, options: ReaderOptions(columns: mapping))
    #expect(examples == [
        Example(prompt: "What is 1,2?", completion: "a \"list\""),
        Example(prompt: "multi\nline\nprompt", completion: "plain answer"),
        Example(prompt: "last", completion: "no newline at end"),
    ])
    #expect(rejected.map(\.line) == [7, 8, 9]) // record 2 spans lines 3-5, line 6 is blank
    #expect(rejected.map(\.reason.code) == ["empty", "bad_csv", "bad_csv"])
    #expect(rejected[1].reason == .badCSV("expected 3 fields as in the header, found 4"))
    #expect(rejected[2].reason.description.contains("after the closing quote"))
}

@Test func csvAndTSVDefaultColumnsAndHeaderErrors() throws {
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let tsv = dir.appendingPathComponent("a.tsv")
    try write("input\toutput\nin 1\tout, 1\n\"q\tuoted\"\tx\n", tsv)
    let (examples, rejected) = try DatasetReader.readAll(tsv)
    #expect(examples == [Example(prompt: "in 1", completion: "out, 1"), Example(prompt: "q\tuoted", completion: "x")])
    #expect(rejected.isEmpty)

    let lm = dir.appendingPathComponent("lm.csv")
    try write("text,source\n\"para one\nstill one\",web\n", lm)
    #expect(try DatasetReader.readAll(lm).examples == [Example(text: "para one\nstill one")])

    let noCols = dir.appendingPathComponent("nocols.csv")
    try write("a,b\n1,2\n", noCols)
    #expect(throws: DatasetFileError.self) { try DatasetReader.readAll(noCols) }
    do {
        _ = try DatasetReader.readAll(noCols, options: ReaderOptions(columns: ColumnMapping(prompt: "a", completion: "answer")))
        Issue.record("accepted a missing column")
    } catch let error as DatasetFileError {
        #expect(error.description == "\(noCols.path):1: column \"answer\" is not in the header (columns: a, b)")
    }
    let empty = dir.appendingPathComponent("empty.csv")
    try write("", empty)
    #expect(throws: DatasetFileError.self) { try DatasetReader.readAll(empty) }
    let unterminated = dir.appendingPathComponent("open.csv")
    try write("prompt,completion\na,b\nc,\"never closed\nmore\n", unterminated)
    let r = try DatasetReader.readAll(unterminated)
    #expect(r.examples == [Example(prompt: "a", completion: "b")])
    #expect(r.rejected.map(\.line) == [3] && r.rejected[0].reason == .badCSV("unterminated quoted field (opened on line 3)"))
    #expect(throws: DatasetFileError.self) { try DatasetReader.readAll(dir.appendingPathComponent("x.xlsx")) }
}

@Test func csvRoundTripsRandomFieldsAgainstPythonsWriter() throws {
    // Python's csv module writes random awkward fields (quotes, delimiters, LF and CRLF inside
    // fields, non-ASCII); our parser must read back exactly the fields that were written.
    var rng = TestRNG(seed: 11)
    let alphabet = Array("ab ,\"\t\n\r'é😀;") .map(String.init)
    var rows: [[String]] = []
    for _ in 0 ..< 129 {
        rows.append((0 ..< 3).map { col in
            let n = Int.random(in: col == 2 ? 1 ... 12 : 0 ... 12, using: &rng)
            var s = (0 ..< n).map { _ in alphabet[Int.random(in: 0 ..< alphabet.count, using: &rng)] }.joined()
            if col == 2, isBlank(s) { s += "x" }
            return s
        })
    }
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let json = dir.appendingPathComponent("rows.json")
    try write(JSONWriter.serialize(.array(rows.map { .array($0.map(JSONValue.string)) })), json)
    for (ext, delimiter) in [("csv", ","), ("tsv", "\\t")] {
        let out = dir.appendingPathComponent("rows.\(ext)")
        _ = try runPython("""
        import csv, json, sys
        rows = json.load(open(sys.argv[1], encoding='utf-8'))
        with open(sys.argv[2], 'w', newline='', encoding='utf-8') as f:
            w = csv.writer(f, delimiter='\(delimiter)', lineterminator='\\r\\n', quoting=csv.QUOTE_MINIMAL)
            w.writerow(['id', 'prompt', 'completion'])
            w.writerows(rows)
        """, arguments: [json.path, out.path])
        let (examples, rejected) = try DatasetReader.readAll(out)
        #expect(rejected.isEmpty, "\(rejected.prefix(3))")
        // CRLF inside quoted fields reads as LF (the file's line structure), everything else exact.
        let expected = rows.map { Example(prompt: $0[1].replacingOccurrences(of: "\r\n", with: "\n"),
                                          completion: $0[2].replacingOccurrences(of: "\r\n", with: "\n")) }
        #expect(examples.count == expected.count)
        #expect(examples == expected)
    }
}
