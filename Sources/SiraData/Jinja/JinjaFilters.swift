/// The filters (`x|name(args)`) and tests (`x is name args`) chat templates use, with Jinja2's
/// behaviour (including on undefined values). Unknown names are errors, not silent passes.
extension JinjaEvaluator {
    func applyFilter(_ name: String, _ v: JinjaValue, _ args: [JinjaValue], _ kwargs: [String: JinjaValue]) throws(JinjaFailure) -> JinjaValue {
        func arg(_ i: Int, _ key: String) -> JinjaValue? { i < args.count ? args[i] : kwargs[key] }
        switch name {
        case "length", "count":
            switch v {
            case .undefined: return .int(0)
            case let .string(s): return .int(s.unicodeScalars.count)
            case let .array(a): return .int(a.count)
            case let .object(o): return .int(o.keys.count)
            default: throw JinjaFailure("object of type '\(v.typeName)' has no len()")
            }
        case "trim":
            if let chars = arg(0, "chars"), case let .string(c) = chars { return .string(pyStrip(v.jinjaString, c, left: true, right: true)) }
            return .string(v.jinjaString.trimmingJinjaSpace())
        case "string": return .string(v.jinjaString)
        case "safe", "e", "escape", "forceescape":
            if name == "safe" { return v }
            var out = ""
            for c in v.jinjaString.unicodeScalars {
                switch c {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&#34;"
                case "'": out += "&#39;"
                default: out.unicodeScalars.append(c)
                }
            }
            return .string(out)
        case "upper": return .string(v.jinjaString.uppercased())
        case "lower": return .string(v.jinjaString.lowercased())
        case "capitalize": return try JinjaBuiltins.callMethod(.string(v.jinjaString), "capitalize", [], [:])
        case "title": return try JinjaBuiltins.callMethod(.string(v.jinjaString), "title", [], [:])
        case "replace":
            guard args.count >= 2 else { throw JinjaFailure("replace needs two arguments") }
            return try JinjaBuiltins.callMethod(.string(v.jinjaString), "replace", args, [:])
        case "tojson":
            var indent: Int?
            if case let .int(i)? = arg(0, "indent") { indent = i }
            var itemSep = ", ", keySep = ": "
            if case let .array(seps)? = kwargs["separators"], seps.count == 2 { itemSep = seps[0].jinjaString; keySep = seps[1].jinjaString }
            else if indent != nil { itemSep = "," }
            let sortKeys = kwargs["sort_keys"]?.isTruthy ?? false
            return .string(try jinjaToJSON(v, indent: indent, sortKeys: sortKeys, itemSeparator: itemSep, keySeparator: keySep))
        case "list": return .array(try iterate(v))
        case "first":
            return try iterate(v).first ?? .undefined("first of empty sequence")
        case "last":
            return try iterate(v).last ?? .undefined("last of empty sequence")
        case "reverse":
            if case let .string(s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try iterate(v).reversed())
        case "join":
            var items = try iterate(v)
            if case let .string(attr)? = arg(1, "attribute") { items = try items.map { (x) throws(JinjaFailure) in try getAttributePath(x, attr) } }
            return .string(items.map(\.jinjaString).joined(separator: arg(0, "d")?.jinjaString ?? ""))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            let boolean = arg(1, "boolean")?.isTruthy ?? false
            if v.isUndefined || (boolean && !v.isTruthy) { return fallback }
            return v
        case "items":
            switch v {
            case .undefined: return .array([])
            case let .object(o): return .array(o.keys.map { .array([.string($0), o[$0]!]) })
            default: throw JinjaFailure("items filter needs a mapping, got \(v.typeName)")
            }
        case "selectattr", "rejectattr", "select", "reject":
            let byAttr = name.hasSuffix("attr")
            var rest = args
            var attr = ""
            if byAttr {
                guard case let .string(a)? = rest.first else { throw JinjaFailure("\(name) needs an attribute name") }
                attr = a
                rest.removeFirst()
            }
            let keep = name.hasPrefix("select")
            var out: [JinjaValue] = []
            for item in try iterate(v) {
                let subject = byAttr ? try getAttributePath(item, attr) : item
                let ok: Bool
                if case let .string(test)? = rest.first { ok = try applyTest(test, subject, Array(rest.dropFirst())) } else { ok = subject.isTruthy }
                if ok == keep { out.append(item) }
            }
            return .array(out)
        case "map":
            let items = try iterate(v)
            if case let .string(attr)? = kwargs["attribute"] {
                return .array(try items.map { (x) throws(JinjaFailure) in
                    let r = try getAttributePath(x, attr)
                    if r.isUndefined, let d = kwargs["default"] { return d }
                    return r
                })
            }
            guard case let .string(f)? = args.first else { throw JinjaFailure("map needs a filter name or attribute=") }
            return .array(try items.map { (x) throws(JinjaFailure) in try applyFilter(f, x, Array(args.dropFirst()), [:]) })
        case "unique":
            var out: [JinjaValue] = []
            for x in try iterate(v) where !out.contains(where: { jinjaEqual($0, x) }) { out.append(x) }
            return .array(out)
        case "sort":
            var items = try iterate(v)
            let reverse = arg(0, "reverse")?.isTruthy ?? false
            var failure: JinjaFailure?
            items.sort { a, b in
                do throws(JinjaFailure) { return try jinjaCompare(a, b, "<") < 0 } catch { failure = error; return false }
            }
            if let failure { throw failure }
            return .array(reverse ? items.reversed() : items)
        case "int":
            switch v {
            case let .int(i): return .int(i)
            case let .double(d): return .int(Int(d))
            case let .bool(b): return .int(b ? 1 : 0)
            case let .string(s): return .int(Int(s.trimmingJinjaSpace()) ?? (asInt(arg(0, "default") ?? .int(0)) ?? 0))
            default: return arg(0, "default") ?? .int(0)
            }
        case "float":
            switch v {
            case let .string(s): return .double(Double(s.trimmingJinjaSpace()) ?? 0)
            default: return .double(asDouble(v) ?? 0)
            }
        case "abs":
            switch v {
            case let .int(i): return .int(abs(i))
            case let .double(d): return .double(abs(d))
            default: throw JinjaFailure("bad operand type for abs(): '\(v.typeName)'")
            }
        case "sum":
            var total: JinjaValue = arg(1, "start") ?? .int(0)
            for x in try iterate(v) { total = try binary("+", total, x) }
            return total
        case "min", "max":
            let items = try iterate(v)
            guard var best = items.first else { return .undefined("\(name) of empty sequence") }
            for x in items.dropFirst() {
                let c = try jinjaCompare(x, best, "<")
                if (name == "min" && c < 0) || (name == "max" && c > 0) { best = x }
            }
            return best
        case "indent":
            let width = asInt(arg(0, "width") ?? .int(4)) ?? 4
            let first = arg(1, "first")?.isTruthy ?? false
            let pad = String(repeating: " ", count: width)
            let lines = v.jinjaString.split(separator: "\n", omittingEmptySubsequences: false)
            var out = ""
            for (i, l) in lines.enumerated() {
                if i > 0 { out += "\n" }
                if (i > 0 || first) && !l.isEmpty { out += pad }
                out += l
            }
            return .string(out)
        default:
            throw JinjaFailure("unknown filter '\(name)'")
        }
    }

    /// `a.b.c` as selectattr/map/join take it.
    func getAttributePath(_ v: JinjaValue, _ path: String) throws(JinjaFailure) -> JinjaValue {
        var cur = v
        for part in path.split(separator: ".") {
            if cur.isUndefined { return cur }
            if let i = Int(part) { cur = try getItem(cur, .int(i)) } else { cur = try getItem(cur, .string(String(part))) }
        }
        return cur
    }

    func applyTest(_ name: String, _ v: JinjaValue, _ args: [JinjaValue]) throws(JinjaFailure) -> Bool {
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true }; return false
        case "string": if case .string = v { return true }; return false
        case "number": switch v { case .int, .double: return true; default: return false }
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "mapping": switch v { case .object: return true; default: return false }
        case "iterable": switch v { case .array, .object, .string: return true; default: return false }
        case "sequence": switch v { case .array, .object, .string: return true; default: return false }
        case "callable": switch v { case .macro, .builtin, .method: return true; default: return false }
        case "even", "odd":
            guard let i = asInt(v) else { throw JinjaFailure("test \(name) needs an integer") }
            return (i % 2 == 0) == (name == "even")
        case "divisibleby":
            guard let i = asInt(v), let d = args.first.flatMap(asInt), d != 0 else { throw JinjaFailure("divisibleby needs integers") }
            return i % d == 0
        case "equalto", "eq", "==": return jinjaEqual(v, args.first ?? .undefined("argument"))
        case "ne", "!=": return !jinjaEqual(v, args.first ?? .undefined("argument"))
        case "gt", ">", "greaterthan": return try jinjaCompare(v, args.first ?? .none, ">") > 0
        case "lt", "<", "lessthan": return try jinjaCompare(v, args.first ?? .none, "<") < 0
        case "ge", ">=": return try jinjaCompare(v, args.first ?? .none, ">=") >= 0
        case "le", "<=": return try jinjaCompare(v, args.first ?? .none, "<=") <= 0
        case "sameas":
            let other = args.first ?? .undefined("argument")
            switch (v, other) {
            case (.none, .none): return true
            case let (.bool(a), .bool(b)): return a == b
            case let (.namespace(a), .namespace(b)): return a === b
            default: return false
            }
        case "in": return try binary("in", v, args.first ?? .undefined("argument")).isTruthy
        case "lower": return v.jinjaString == v.jinjaString.lowercased()
        case "upper": return v.jinjaString == v.jinjaString.uppercased()
        default: throw JinjaFailure("unknown test '\(name)'")
        }
    }
}
