/// Serialises `JSONValue` and strings as compact JSON. Non-ASCII text is written as raw UTF-8
/// (as serde_json and the `tokenizers` library do); quotes, backslashes and control characters
/// are escaped, so any Swift String survives a write/parse round trip byte for byte.
public enum JSONWriter {
    public static func serialize(_ value: JSONValue, sortKeys: Bool = false) -> String {
        var out: [UInt8] = []
        write(value, to: &out, sortKeys: sortKeys)
        return String(decoding: out, as: UTF8.self)
    }

    public static func write(_ value: JSONValue, to out: inout [UInt8], sortKeys: Bool = false) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case let .bool(b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case let .number(d): writeNumber(d, to: &out)
        case let .string(s): writeString(s, to: &out)
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, to: &out, sortKeys: sortKeys)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(members):
            out.append(UInt8(ascii: "{"))
            let ordered = sortKeys ? members.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) } : members
            for (i, member) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, to: &out, sortKeys: sortKeys)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Integral values within ±2^53 print without a fraction ("3", not "3.0"); others use Swift's
    /// shortest round-tripping form. Non-finite numbers have no JSON form and print as null.
    public static func writeNumber(_ d: Double, to out: inout [UInt8]) {
        if !d.isFinite {
            out.append(contentsOf: "null".utf8)
        } else if d == d.rounded(), abs(d) < 9.007199254740992e15 {
            out.append(contentsOf: String(Int64(d)).utf8)
        } else {
            out.append(contentsOf: "\(d)".utf8)
        }
    }

    public static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { buf in
            guard let p = buf.baseAddress else { return }
            var runStart = 0
            for i in 0 ..< buf.count {
                let byte = p[i]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F else { continue }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart)) }
                runStart = i + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default:
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hexDigit(byte >> 4))
                    out.append(hexDigit(byte & 15))
                }
            }
            if runStart < buf.count { out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: buf.count - runStart)) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }
}
