import Foundation

/// Global functions (those transformers provides: `raise_exception`, `strftime_now`, plus
/// Jinja2's `range`, `namespace`, `dict`) and the Python methods of str and dict that templates
/// call (`content.split('</think>')`, `message.get('x')`, `tool.items()`).
enum JinjaBuiltins {
    static let globals: Set<String> = ["range", "namespace", "raise_exception", "strftime_now", "dict"]

    static func global(_ name: String) -> JinjaValue? { globals.contains(name) ? .builtin(name) : nil }

    static func callGlobal(_ name: String, _ args: [JinjaValue], _ kwargs: [String: JinjaValue]) throws(JinjaFailure) -> JinjaValue {
        switch name {
        case "range":
            let ints = args.compactMap(asInt)
            guard ints.count == args.count, (1 ... 3).contains(ints.count) else { throw JinjaFailure("range() takes 1 to 3 integers") }
            let (start, stop, step) = ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count == 3 ? ints[2] : 1)
            guard step != 0 else { throw JinjaFailure("range() arg 3 must not be zero") }
            guard abs((stop - start) / step) < 1_000_000 else { throw JinjaFailure("range() too large") }
            return .array(Array(stride(from: start, to: stop, by: step)).map { .int($0) })
        case "namespace", "dict":
            var o = JinjaObject()
            if case let .object(initial)? = args.first { for k in initial.keys { o[k] = initial[k] } }
            for k in kwargs.keys.sorted() { o[k] = kwargs[k] }
            if name == "dict" { return .object(o) }
            let ns = JinjaNamespace()
            ns.attributes = o
            return .namespace(ns)
        case "raise_exception":
            throw JinjaFailure(args.first?.jinjaString ?? "raise_exception called", kind: .raised)
        case "strftime_now":
            guard case let .string(format)? = args.first else { throw JinjaFailure("strftime_now needs a format string") }
            var t = time(nil)
            var tmv = tm()
            localtime_r(&t, &tmv)
            var buffer = [Int8](repeating: 0, count: 256)
            let n = strftime(&buffer, buffer.count, format, &tmv)
            return .string(String(decoding: buffer[0 ..< n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        default:
            throw JinjaFailure("unknown function \(name)")
        }
    }

    static let stringMethods: Set<String> = ["startswith", "endswith", "strip", "lstrip", "rstrip", "split", "rsplit", "upper", "lower", "title", "capitalize", "replace", "join", "find", "count", "splitlines", "isdigit", "isspace", "isalpha"]
    static let dictMethods: Set<String> = ["items", "keys", "values", "get"]

    static func hasMethod(_ v: JinjaValue, _ name: String) -> Bool {
        switch v {
        case .string: return stringMethods.contains(name)
        case .object: return dictMethods.contains(name)
        default: return false
        }
    }

    static func callMethod(_ receiver: JinjaValue, _ name: String, _ args: [JinjaValue], _ kwargs: [String: JinjaValue]) throws(JinjaFailure) -> JinjaValue {
        if case let .object(o) = receiver {
            switch name {
            case "items": return .array(o.keys.map { .array([.string($0), o[$0]!]) })
            case "keys": return .array(o.keys.map { .string($0) })
            case "values": return .array(o.keys.map { o[$0]! })
            default:
                guard case let .string(k)? = args.first else { return args.count > 1 ? args[1] : .none }
                return o[k] ?? (args.count > 1 ? args[1] : .none)
            }
        }
        guard case let .string(s) = receiver else { throw JinjaFailure("no method \(name) on \(receiver.typeName)") }
        func stringArg(_ i: Int) throws(JinjaFailure) -> String? {
            guard i < args.count else { return nil }
            if case .none = args[i] { return nil }
            guard case let .string(a) = args[i] else { throw JinjaFailure("\(name)() argument must be str, not \(args[i].typeName)") }
            return a
        }
        switch name {
        case "startswith", "endswith":
            var candidates: [String] = []
            switch args.first {
            case let .string(p)?: candidates = [p]
            case let .array(ps)?: candidates = ps.map(\.jinjaString)
            default: throw JinjaFailure("\(name) needs a string or a tuple of strings")
            }
            return .bool(candidates.contains { name == "startswith" ? s.unicodeScalars.starts(with: $0.unicodeScalars) : s.unicodeScalars.reversed().starts(with: $0.unicodeScalars.reversed()) })
        case "strip": return .string(pyStrip(s, try stringArg(0), left: true, right: true))
        case "lstrip": return .string(pyStrip(s, try stringArg(0), left: true, right: false))
        case "rstrip": return .string(pyStrip(s, try stringArg(0), left: false, right: true))
        case "split", "rsplit":
            let maxSplit = args.count > 1 ? (asInt(args[1]) ?? -1) : (kwargs["maxsplit"].flatMap(asInt) ?? -1)
            if let sep = try stringArg(0) ?? kwargs["sep"]?.jinjaString {
                guard !sep.isEmpty else { throw JinjaFailure("empty separator") }
                var parts = splitScalars(s, sep)
                if maxSplit >= 0, parts.count > maxSplit + 1 {
                    if name == "split" {
                        parts = Array(parts[..<maxSplit]) + [parts[maxSplit...].joined(separator: sep)]
                    } else {
                        let cut = parts.count - maxSplit
                        parts = [parts[..<cut].joined(separator: sep)] + Array(parts[cut...])
                    }
                }
                return .array(parts.map { .string($0) })
            }
            var words: [String] = []
            var cur = ""
            var inWord = false
            for c in s.unicodeScalars {
                if isJinjaSpace(c) {
                    if inWord { words.append(cur); cur = ""; inWord = false }
                } else { cur.unicodeScalars.append(c); inWord = true }
            }
            if inWord { words.append(cur) }
            return .array(words.map { .string($0) })
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "capitalize":
            guard let f = s.unicodeScalars.first else { return .string("") }
            return .string(String(f).uppercased() + String(String.UnicodeScalarView(s.unicodeScalars.dropFirst())).lowercased())
        case "title":
            var out = ""
            var prevCased = false
            for c in s.unicodeScalars {
                let cased = c.properties.isCased
                out += prevCased ? String(c).lowercased() : String(c).uppercased()
                prevCased = cased || c.properties.isCaseIgnorable && prevCased && c.properties.isAlphabetic
            }
            return .string(out)
        case "replace":
            guard let old = try stringArg(0), let new = try stringArg(1) else { throw JinjaFailure("replace needs two strings") }
            let count = args.count > 2 ? (asInt(args[2]) ?? -1) : -1
            if old.isEmpty { return .string(s) }
            let parts = splitScalars(s, old)
            if count < 0 || count >= parts.count - 1 { return .string(parts.joined(separator: new)) }
            return .string(parts[...count].joined(separator: new) + old + parts[(count + 1)...].joined(separator: old))
        case "join":
            guard case let .array(items)? = args.first else { throw JinjaFailure("join needs a list") }
            return .string(items.map(\.jinjaString).joined(separator: s))
        case "find":
            guard let needle = try stringArg(0) else { throw JinjaFailure("find needs a string") }
            let parts = splitScalars(s, needle)
            return .int(parts.count > 1 ? parts[0].unicodeScalars.count : -1)
        case "count":
            guard let needle = try stringArg(0), !needle.isEmpty else { throw JinjaFailure("count needs a non-empty string") }
            return .int(splitScalars(s, needle).count - 1)
        case "splitlines":
            var lines = s.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.map(String.init)
            if lines.last == "" { lines.removeLast() }
            return .array(lines.map { .string($0) })
        case "isdigit": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
        case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isJinjaSpace))
        case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        default: throw JinjaFailure("no method \(name) on str")
        }
    }
}

/// Python's str.strip/lstrip/rstrip: `chars` nil strips white space, else any of those scalars.
func pyStrip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
    let set = chars.map { Set($0.unicodeScalars) }
    func strippable(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isJinjaSpace(c) }
    var v = Substring.UnicodeScalarView(s.unicodeScalars)
    if left { while let f = v.first, strippable(f) { v.removeFirst() } }
    if right { while let l = v.last, strippable(l) { v.removeLast() } }
    return String(String.UnicodeScalarView(v))
}

/// Python's `s.split(sep)` on code points (no canonical-equivalence matching).
func splitScalars(_ s: String, _ sep: String) -> [String] {
    let a = Array(s.unicodeScalars)
    let b = Array(sep.unicodeScalars)
    var parts: [String] = []
    var cur = String.UnicodeScalarView()
    var i = 0
    while i < a.count {
        if i + b.count <= a.count, a[i] == b[0], Array(a[i ..< i + b.count]) == b {
            parts.append(String(cur))
            cur = String.UnicodeScalarView()
            i += b.count
        } else {
            cur.append(a[i])
            i += 1
        }
    }
    parts.append(String(cur))
    return parts
}
