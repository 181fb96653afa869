import Foundation

/// A runtime value of the template language, with Python's data model as Jinja2 sees it: ints and
/// floats are distinct, strings are sequences of Unicode scalars (code points), mappings keep
/// insertion order, and `undefined` is a value (empty when printed, false when tested, an error
/// only when used further) rather than an error.
public indirect enum JinjaValue {
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    case object(JinjaObject)
    case namespace(JinjaNamespace)
    case macro(JinjaMacro)
    /// A global function (range, namespace, raise_exception, strftime_now, dict).
    case builtin(String)
    /// A method looked up on a value (`s.split`, `d.items`), called later.
    case method(JinjaValue, String)

    /// Python truthiness.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case let .bool(b): return b
        case let .int(i): return i != 0
        case let .double(d): return d != 0
        case let .string(s): return !s.isEmpty
        case let .array(a): return !a.isEmpty
        case let .object(o): return !o.keys.isEmpty
        default: return true
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }

    /// Python type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .builtin, .method: return "function"
        }
    }

    /// Converts parsed JSON (numbers without a fraction become ints, as Python's json does for
    /// integer literals).
    public init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case let .bool(b): self = .bool(b)
        case let .number(d):
            if let i = Int(exactly: d) { self = .int(i) } else { self = .double(d) }
        case let .string(s): self = .string(s)
        case let .array(a): self = .array(a.map(JinjaValue.init(json:)))
        case let .object(members):
            var o = JinjaObject()
            for m in members { o[m.key] = JinjaValue(json: m.value) }
            self = .object(o)
        }
    }
}

/// An insertion-ordered string-keyed mapping (a Python dict with string keys).
public struct JinjaObject {
    public private(set) var keys: [String] = []
    public private(set) var storage: [String: JinjaValue] = [:]

    public init() {}
    public init(_ pairs: [(String, JinjaValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }
}

/// `namespace(...)`: the one mutable object of Jinja2, so that a `set ns.x` inside a loop is seen
/// after it. Reference semantics on purpose.
public final class JinjaNamespace {
    var attributes = JinjaObject()
    init() {}
}

/// A `{% macro %}` definition: called like a function, renders its body to a string.
public final class JinjaMacro {
    let name: String
    let parameters: [(String, JinjaExpr?)]
    let body: [JinjaStmt]
    init(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaStmt]) {
        self.name = name
        self.parameters = parameters
        self.body = body
    }
}
