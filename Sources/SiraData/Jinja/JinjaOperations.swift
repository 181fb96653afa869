import Foundation

/// Attribute and item access, slicing, iteration, operators and comparison with Python's
/// semantics, as Jinja2's sandboxed environment performs them.
extension JinjaEvaluator {
    /// `x.name`: a method of the value if it has one (Jinja2 tries the attribute first), else the
    /// mapping member; missing members are undefined, but any access on undefined is an error.
    func getAttribute(_ v: JinjaValue, _ name: String) throws(JinjaFailure) -> JinjaValue {
        switch v {
        case let .undefined(u): throw JinjaFailure("'\(u)' is undefined (looking up .\(name))")
        case let .object(o):
            if JinjaBuiltins.hasMethod(v, name) { return .method(v, name) }
            return o[name] ?? .undefined(name)
        case let .namespace(ns): return ns.attributes[name] ?? .undefined(name)
        default:
            if JinjaBuiltins.hasMethod(v, name) { return .method(v, name) }
            return .undefined(name)
        }
    }

    /// `x[i]`: Python indexing (negative from the end); missing is undefined.
    func getItem(_ v: JinjaValue, _ index: JinjaValue) throws(JinjaFailure) -> JinjaValue {
        switch (v, index) {
        case let (.undefined(u), _): throw JinjaFailure("'\(u)' is undefined (subscripted)")
        case let (.array(a), .int(i)):
            let j = i < 0 ? a.count + i : i
            return j >= 0 && j < a.count ? a[j] : .undefined("index \(i)")
        case let (.string(s), .int(i)):
            let scalars = Array(s.unicodeScalars)
            let j = i < 0 ? scalars.count + i : i
            return j >= 0 && j < scalars.count ? .string(String(scalars[j])) : .undefined("index \(i)")
        case let (.object(o), .string(k)):
            if let x = o[k] { return x }
            return JinjaBuiltins.hasMethod(v, k) ? .method(v, k) : .undefined(k)
        case let (.namespace(ns), .string(k)): return ns.attributes[k] ?? .undefined(k)
        case let (_, .string(k)): return try getAttribute(v, k)
        default: return .undefined("item")
        }
    }

    func slice(_ v: JinjaValue, _ a: JinjaValue?, _ b: JinjaValue?, _ c: JinjaValue?) throws(JinjaFailure) -> JinjaValue {
        func intOrNil(_ x: JinjaValue?) throws(JinjaFailure) -> Int? {
            switch x {
            case nil, .none?: return nil
            case let .int(i)?: return i
            default: throw JinjaFailure("slice indices must be integers or none")
            }
        }
        let step = try intOrNil(c) ?? 1
        guard step != 0 else { throw JinjaFailure("slice step cannot be zero") }
        func indices(_ n: Int) throws(JinjaFailure) -> [Int] {
            func clamp(_ x: Int?, _ def: Int) -> Int {
                guard var x else { return def }
                if x < 0 { x += n }
                if step > 0 { return min(max(x, 0), n) }
                return min(max(x, -1), n - 1)
            }
            var out: [Int] = []
            if step > 0 {
                var i = clamp(try intOrNil(a), 0)
                let end = clamp(try intOrNil(b), n)
                while i < end { out.append(i); i += step }
            } else {
                var i = clamp(try intOrNil(a), n - 1)
                let end = clamp(try intOrNil(b), -1)
                while i > end { out.append(i); i += step }
            }
            return out
        }
        switch v {
        case let .array(arr): return .array(try indices(arr.count).map { arr[$0] })
        case let .string(s):
            let sc = Array(s.unicodeScalars)
            var out = ""
            for i in try indices(sc.count) { out.unicodeScalars.append(sc[i]) }
            return .string(out)
        case let .undefined(u): throw JinjaFailure("'\(u)' is undefined (sliced)")
        default: throw JinjaFailure("'\(v.typeName)' object is not subscriptable")
        }
    }

    /// What `for` walks: list items, string characters, mapping keys; undefined is empty.
    func iterate(_ v: JinjaValue) throws(JinjaFailure) -> [JinjaValue] {
        switch v {
        case .undefined: return []
        case let .array(a): return a
        case let .string(s): return s.unicodeScalars.map { .string(String($0)) }
        case let .object(o): return o.keys.map { .string($0) }
        default: throw JinjaFailure("'\(v.typeName)' object is not iterable")
        }
    }

    func binary(_ op: String, _ l: JinjaValue, _ r: JinjaValue) throws(JinjaFailure) -> JinjaValue {
        switch op {
        case "==": return .bool(jinjaEqual(l, r))
        case "!=": return .bool(!jinjaEqual(l, r))
        case "<", ">", "<=", ">=":
            let c = try jinjaCompare(l, r, op)
            switch op {
            case "<": return .bool(c < 0)
            case ">": return .bool(c > 0)
            case "<=": return .bool(c <= 0)
            default: return .bool(c >= 0)
            }
        case "in":
            switch r {
            case let .string(s):
                guard case let .string(needle) = l else { throw JinjaFailure("'in <string>' requires string as left operand, not \(l.typeName)") }
                return .bool(needle.isEmpty || s.utf8.firstRange(of: needle.utf8) != nil)
            case let .array(a): return .bool(a.contains { jinjaEqual($0, l) })
            case let .object(o):
                guard case let .string(k) = l else { return .bool(false) }
                return .bool(o[k] != nil)
            case .undefined: return .bool(false)
            default: throw JinjaFailure("argument of type '\(r.typeName)' is not iterable")
            }
        case "~": return .string(l.jinjaString + r.jinjaString)
        default: break
        }
        if case let .undefined(u) = l { throw JinjaFailure("'\(u)' is undefined (operand of \(op))") }
        if case let .undefined(u) = r { throw JinjaFailure("'\(u)' is undefined (operand of \(op))") }
        switch (op, l, r) {
        case let ("+", .string(a), .string(b)): return .string(a + b)
        case let ("+", .array(a), .array(b)): return .array(a + b)
        case let ("*", .string(a), .int(n)), let ("*", .int(n), .string(a)): return .string(String(repeating: a, count: max(0, n)))
        case let ("*", .array(a), .int(n)): return .array(Array([[JinjaValue]](repeating: a, count: max(0, n)).joined()))
        default: break
        }
        if let a = asInt(l), let b = asInt(r) {
            switch op {
            case "+": return .int(a &+ b)
            case "-": return .int(a &- b)
            case "*": return .int(a &* b)
            case "/":
                guard b != 0 else { throw JinjaFailure("division by zero") }
                return .double(Double(a) / Double(b))
            case "//":
                guard b != 0 else { throw JinjaFailure("integer division or modulo by zero") }
                let q = a / b
                return .int((a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q)
            case "%":
                guard b != 0 else { throw JinjaFailure("integer division or modulo by zero") }
                let m = a % b
                return .int(m != 0 && (m < 0) != (b < 0) ? m + b : m)
            case "**":
                guard b >= 0 else { return .double(pow(Double(a), Double(b))) }
                var x = 1
                for _ in 0 ..< b { x = x &* a }
                return .int(x)
            default: break
            }
        }
        if let a = asDouble(l), let b = asDouble(r) {
            switch op {
            case "+": return .double(a + b)
            case "-": return .double(a - b)
            case "*": return .double(a * b)
            case "/":
                guard b != 0 else { throw JinjaFailure("float division by zero") }
                return .double(a / b)
            case "//":
                guard b != 0 else { throw JinjaFailure("float floor division by zero") }
                return .double((a / b).rounded(.down))
            case "%":
                guard b != 0 else { throw JinjaFailure("float modulo") }
                let m = fmod(a, b)
                return .double(m != 0 && (m < 0) != (b < 0) ? m + b : m)
            case "**": return .double(pow(a, b))
            default: break
            }
        }
        throw JinjaFailure("unsupported operand type(s) for \(op): '\(l.typeName)' and '\(r.typeName)'")
    }
}

func asInt(_ v: JinjaValue) -> Int? {
    switch v {
    case let .int(i): return i
    case let .bool(b): return b ? 1 : 0
    default: return nil
    }
}

func asDouble(_ v: JinjaValue) -> Double? {
    switch v {
    case let .int(i): return Double(i)
    case let .bool(b): return b ? 1 : 0
    case let .double(d): return d
    default: return nil
    }
}

/// Python `==` (numbers across int/float/bool; undefined equals only undefined).
func jinjaEqual(_ l: JinjaValue, _ r: JinjaValue) -> Bool {
    switch (l, r) {
    case (.undefined, .undefined), (.none, .none): return true
    case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
    case let (.array(a), .array(b)): return a.count == b.count && zip(a, b).allSatisfy { jinjaEqual($0, $1) }
    case let (.object(a), .object(b)):
        return a.keys.count == b.keys.count && a.keys.allSatisfy { k in b[k].map { jinjaEqual(a[k]!, $0) } ?? false }
    case let (.namespace(a), .namespace(b)): return a === b
    default:
        if let x = asInt(l), let y = asInt(r) { return x == y }
        if let x = asDouble(l), let y = asDouble(r) { return x == y }
        return false
    }
}

/// Python ordering for numbers, strings (by code point) and lists; -1, 0 or 1.
func jinjaCompare(_ l: JinjaValue, _ r: JinjaValue, _ op: String) throws(JinjaFailure) -> Int {
    switch (l, r) {
    case let (.string(a), .string(b)):
        for (x, y) in zip(a.unicodeScalars, b.unicodeScalars) where x != y { return x.value < y.value ? -1 : 1 }
        let (m, n) = (a.unicodeScalars.count, b.unicodeScalars.count)
        return m == n ? 0 : (m < n ? -1 : 1)
    case let (.array(a), .array(b)):
        for (x, y) in zip(a, b) where !jinjaEqual(x, y) { return try jinjaCompare(x, y, op) }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    default:
        if let x = asInt(l), let y = asInt(r) { return x == y ? 0 : (x < y ? -1 : 1) }
        if let x = asDouble(l), let y = asDouble(r) { return x == y ? 0 : (x < y ? -1 : 1) }
        throw JinjaFailure("'\(op)' not supported between instances of '\(l.typeName)' and '\(r.typeName)'")
    }
}
