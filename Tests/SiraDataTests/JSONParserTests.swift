import Foundation
import Testing
@testable import SiraData

@Test func parsesEveryKindOfValue() throws {
    let v = try JSONParser.parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}, "a": 0} "#)
    #expect(v["a"] == .number(0)) // the last duplicate wins
    guard case let .object(members) = v else { Issue.record("not an object"); return }
    #expect(members.map(\.key) == ["a", "b", "a"])
    #expect(members[0].value == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]))
    #expect(v["b"]?["c"]?.stringValue == "x\"\\/\u{08}\u{0C}\n\r\té😀")
    #expect(try JSONParser.parse("0") == .number(0))
    #expect(try JSONParser.parse("-0.125E-2").doubleValue == -0.00125)
    #expect(try JSONParser.parse("[]") == .array([]))
    #expect(try JSONParser.parse("{}") == .object([]))
}

@Test func rejectsMalformedJSONWithAPosition() {
    let cases: [(String, Int, String)] = [
        ("{\"a\": 1,}", 8, "expected a string key"),
        ("[1 2]", 3, "expected ',' or ']'"),
        ("01", 1, "leading zero"),
        ("\"abc", 0, "unterminated string"),
        ("{\"a\" 1}", 5, "expected ':'"),
        ("tru", 0, "invalid literal"),
        ("\"\\ud800\"", 7, "lone UTF-16 surrogate"),
        ("\"\\udc00x\"", 7, "lone UTF-16 surrogate"),
        ("\"a\tb\"", 2, "unescaped control character"),
        ("\"\\x\"", 2, "invalid escape"),
        ("1 2", 2, "after the JSON value"),
        ("", 0, "unexpected end of input"),
        ("1.", 2, "expected a digit after '.'"),
    ]
    for (text, offset, message) in cases {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.offset == offset, "\(text): \(error)")
            #expect(error.message.contains(message), "\(text): \(error)")
        }
    }
    let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
    #expect(throws: JSONError.self) { try JSONParser.parse(deep) }
}

@Test func writerRoundTripsRandomStringsAndPythonReadsThem() throws {
    var rng = TestRNG(seed: 7)
    var strings: [String] = ["", "\"", "\\", "\u{0}", "\u{7F}", "\u{2028}"]
    for n in [1, 7, 33, 129] { strings.append(randomUnicodeText(&rng, length: n)) }
    for s in strings {
        let doc = JSONValue.object([JSONMember(s, .array([.string(s), .number(-3), .number(0.5)]))])
        let text = JSONWriter.serialize(doc)
        let back = try JSONParser.parse(text)
        guard case let .object(m) = back else { Issue.record("not an object"); continue }
        #expect(Array(m[0].key.utf8) == Array(s.utf8))
        #expect(Array((m[0].value.arrayValue?[0].stringValue ?? "").utf8) == Array(s.utf8))
        #expect(m[0].value.arrayValue?[1] == .number(-3))
    }
    // An independent reader: Python's json module must read what we write, identically.
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("strings.json")
    try write(JSONWriter.serialize(.array(strings.map(JSONValue.string))), file)
    let hexes = try runPython("""
    import json, sys
    for s in json.load(open(sys.argv[1], encoding='utf-8')): print(s.encode('utf-8', 'surrogatepass').hex())
    """, arguments: [file.path])
    let expected = strings.map { $0.utf8.map { String(format: "%02x", $0) }.joined() }
    #expect(hexes.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) == expected)
}
