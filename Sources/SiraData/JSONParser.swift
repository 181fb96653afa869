import Foundation

/// A strict RFC 8259 JSON parser over UTF-8 bytes. Used for JSONL records and tokenizer.json, so it
/// reports where a document goes wrong (byte offset, converted to line and column by callers that
/// know the line structure) instead of a generic failure.
///
/// Contract: the input must be valid UTF-8 (callers validate first, so an invalid-UTF-8 row gets its
/// own reason); nesting deeper than `maxDepth` is refused rather than overflowing the stack; a
/// `\u` escape that leaves a lone UTF-16 surrogate is refused (a Swift String cannot hold it).
public struct JSONParser {
    public static let maxDepth = 512

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.pos != parser.end {
            throw parser.error("unexpected '\(parser.describe(parser.peek()))' after the JSON value")
        }
        return value
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        do {
            return try bytes.withUnsafeBytes { raw in try parse(raw) }
        } catch let error as JSONError {
            throw error
        } catch {
            fatalError("unreachable: \(error)")
        }
    }

    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private let base: UnsafePointer<UInt8>?
    private let end: Int
    private var pos = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        end = bytes.count
    }

    private func peek() -> UInt8 { pos < end ? base![pos] : 0 }

    private func describe(_ byte: UInt8) -> String {
        if pos >= end { return "end of input" }
        if byte >= 0x20 && byte < 0x7F { return String(UnicodeScalar(byte)) }
        return String(format: "\\x%02X", byte)
    }

    private func error(_ message: String) -> JSONError { JSONError(offset: pos, message: message) }

    private mutating func skipWhitespace() {
        while pos < end {
            let c = base![pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard pos < end else { throw error("unexpected end of input, expected a value") }
        switch base![pos] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected '\(describe(base![pos]))', expected a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard end - pos >= n, memcmp(base! + pos, word.utf8Start, n) == 0 else {
            throw error("invalid literal, expected '\(word)'")
        }
        pos += n
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        pos += 1
        var members: [JSONMember] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}"), pos < end { pos += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard pos < end, base![pos] == UInt8(ascii: "\"") else {
                throw error("expected a string key in object, found '\(describe(peek()))'")
            }
            let key = try parseString()
            skipWhitespace()
            guard pos < end, base![pos] == UInt8(ascii: ":") else { throw error("expected ':' after object key \"\(key)\"") }
            pos += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append(JSONMember(key, value))
            skipWhitespace()
            guard pos < end else { throw error("unterminated object, expected ',' or '}'") }
            let c = base![pos]
            pos += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "}") { return .object(members) }
            pos -= 1
            throw error("expected ',' or '}' in object, found '\(describe(c))'")
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]"), pos < end { pos += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            guard pos < end else { throw error("unterminated array, expected ',' or ']'") }
            let c = base![pos]
            pos += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "]") { return .array(items) }
            pos -= 1
            throw error("expected ',' or ']' in array, found '\(describe(c))'")
        }
    }

    private mutating func parseNumber() throws(JSONError) -> Double {
        let start = pos
        if base![pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < end, isDigit(base![pos]) else { throw error("invalid number: expected a digit") }
        if base![pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < end, isDigit(base![pos]) { throw error("invalid number: leading zero") }
        } else {
            while pos < end, isDigit(base![pos]) { pos += 1 }
        }
        if pos < end, base![pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < end, isDigit(base![pos]) else { throw error("invalid number: expected a digit after '.'") }
            while pos < end, isDigit(base![pos]) { pos += 1 }
        }
        if pos < end, base![pos] | 0x20 == UInt8(ascii: "e") {
            pos += 1
            if pos < end, base![pos] == UInt8(ascii: "+") || base![pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < end, isDigit(base![pos]) else { throw error("invalid number: expected a digit in the exponent") }
            while pos < end, isDigit(base![pos]) { pos += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(start: base! + start, count: pos - start), as: UTF8.self)
        guard let value = Double(text) else { throw JSONError(offset: start, message: "invalid number '\(text)'") }
        return value
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    private mutating func parseString() throws(JSONError) -> String {
        pos += 1
        let start = pos
        // Fast path: no escapes.
        while pos < end {
            let c = base![pos]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(start: base! + start, count: pos - start), as: UTF8.self)
                pos += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("unescaped control character \(String(format: "U+%04X", c)) in string") }
            pos += 1
        }
        guard pos < end else { throw JSONError(offset: start - 1, message: "unterminated string") }
        var out = [UInt8](UnsafeBufferPointer(start: base! + start, count: pos - start))
        while pos < end {
            let c = base![pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw error("unescaped control character \(String(format: "U+%04X", c)) in string") }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                pos += 1
                continue
            }
            pos += 1
            guard pos < end else { break }
            let e = base![pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if code >= 0xD800 && code < 0xDC00 {
                    guard end - pos >= 6, base![pos] == UInt8(ascii: "\\"), base![pos + 1] == UInt8(ascii: "u") else {
                        throw error("lone UTF-16 surrogate \\u\(String(code, radix: 16, uppercase: true)) in string")
                    }
                    pos += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else {
                        throw error("UTF-16 high surrogate not followed by a low surrogate in string")
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if code >= 0xDC00 && code < 0xE000 {
                    throw error("lone UTF-16 surrogate \\u\(String(code, radix: 16, uppercase: true)) in string")
                }
                out.append(contentsOf: Unicode.Scalar(code)!.utf8)
            default:
                pos -= 1
                throw error("invalid escape '\\\(describe(e))' in string")
            }
        }
        throw JSONError(offset: start - 1, message: "unterminated string")
    }

    private mutating func hex4() throws(JSONError) -> UInt32 {
        guard end - pos >= 4 else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0 ..< 4 {
            let c = base![pos]
            let d: UInt32
            switch c {
            case 0x30 ... 0x39: d = UInt32(c - 0x30)
            case 0x41 ... 0x46: d = UInt32(c - 0x41 + 10)
            case 0x61 ... 0x66: d = UInt32(c - 0x61 + 10)
            default: throw error("invalid hex digit '\(describe(c))' in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }
}

/// Where and why a JSON document failed to parse. `offset` is a byte offset into the input.
public struct JSONError: Error, CustomStringConvertible, Sendable {
    public let offset: Int
    public let message: String

    public var description: String { "\(message) (byte \(offset))" }

    /// 1-based line and column (in bytes) of `offset` within `bytes`.
    public func location(in bytes: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for i in 0 ..< min(offset, bytes.count) where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return (line, offset - lineStart + 1)
    }
}
