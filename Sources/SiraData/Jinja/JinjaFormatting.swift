import Foundation

/// How values become text: `{{ x }}` prints Python's `str(x)` (undefined prints nothing), lists
/// and dicts print Python's `repr`, and `|tojson` prints what transformers' filter prints:
/// `json.dumps(x, ensure_ascii=False)` with Python's default `", "` and `": "` separators.
extension JinjaValue {
    var jinjaString: String {
        switch self {
        case .undefined: return ""
        case let .string(s): return s
        default: return pythonRepr
        }
    }

    var pythonRepr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .double(d): return pythonFloat(d)
        case let .string(s): return pythonStringRepr(s)
        case let .array(a): return "[" + a.map(\.pythonRepr).joined(separator: ", ") + "]"
        case let .object(o): return "{" + o.keys.map { pythonStringRepr($0) + ": " + o[$0]!.pythonRepr }.joined(separator: ", ") + "}"
        case let .namespace(ns): return "<Namespace " + JinjaValue.object(ns.attributes).pythonRepr + ">"
        case let .macro(m): return "<Macro '\(m.name)'>"
        case let .builtin(n): return "<function \(n)>"
        case let .method(_, n): return "<built-in method \(n)>"
        }
    }
}

func pythonFloat(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
    return "\(d)"
}

func pythonStringRepr(_ s: String) -> String {
    let useDouble = s.contains("'") && !s.contains("\"")
    let q: Character = useDouble ? "\"" : "'"
    var out = String(q)
    for c in s.unicodeScalars {
        switch c {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if Character(c) == q { out += "\\" + String(q) } else if c.value < 0x20 || c.value == 0x7F { out += String(format: "\\x%02x", c.value) } else { out.unicodeScalars.append(c) }
        }
    }
    out.append(q)
    return out
}

/// Python's json.dumps with ensure_ascii=False.
func jinjaToJSON(_ v: JinjaValue, indent: Int?, sortKeys: Bool, itemSeparator: String, keySeparator: String, depth: Int = 0) throws(JinjaFailure) -> String {
    func newline(_ d: Int) -> String { indent.map { "\n" + String(repeating: " ", count: $0 * d) } ?? "" }
    let sep = indent == nil ? itemSeparator : itemSeparator.trimmingSuffixSpaces()
    switch v {
    case .none: return "null"
    case let .bool(b): return b ? "true" : "false"
    case let .int(i): return String(i)
    case let .double(d):
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return pythonFloat(d)
    case let .string(s): return jsonQuoted(s)
    case let .array(a):
        if a.isEmpty { return "[]" }
        var parts: [String] = []
        for x in a { parts.append(try jinjaToJSON(x, indent: indent, sortKeys: sortKeys, itemSeparator: itemSeparator, keySeparator: keySeparator, depth: depth + 1)) }
        return "[" + newline(depth + 1) + parts.joined(separator: sep + newline(depth + 1)) + newline(depth) + "]"
    case let .object(o):
        if o.keys.isEmpty { return "{}" }
        let keys = sortKeys ? o.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) } : o.keys
        var parts: [String] = []
        for k in keys { parts.append(jsonQuoted(k) + keySeparator + (try jinjaToJSON(o[k]!, indent: indent, sortKeys: sortKeys, itemSeparator: itemSeparator, keySeparator: keySeparator, depth: depth + 1))) }
        return "{" + newline(depth + 1) + parts.joined(separator: sep + newline(depth + 1)) + newline(depth) + "}"
    case let .namespace(ns): return try jinjaToJSON(.object(ns.attributes), indent: indent, sortKeys: sortKeys, itemSeparator: itemSeparator, keySeparator: keySeparator, depth: depth)
    case let .undefined(u): throw JinjaFailure("Object of type Undefined ('\(u)') is not JSON serializable")
    default: throw JinjaFailure("Object of type \(v.typeName) is not JSON serializable")
    }
}

private extension String {
    func trimmingSuffixSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}

private func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        default:
            if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
        }
    }
    return out + "\""
}
