import Yams

/// Collects diagnostics while a manifest is walked, so `validate` reports every problem at once.
final class DiagnosticSink {
    let file: String
    private(set) var items: [ManifestDiagnostic] = []

    init(file: String) { self.file = file }

    func report(_ mark: Mark?, _ path: String, _ problem: String) {
        items.append(ManifestDiagnostic(
            file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, keyPath: path, problem: problem
        ))
    }
}

/// A YAML node at a known key path. The typed accessors report a located diagnostic and return
/// nil when the node has the wrong type or is out of range; callers then keep the default so the
/// walk continues and later problems are found too.
struct YAMLValue {
    let node: Node
    let path: String
    let sink: DiagnosticSink

    var mark: Mark? { node.mark }

    func fail(_ problem: String) {
        sink.report(mark, path, problem)
    }

    /// What the node is, for messages: `a mapping`, `a list`, `nothing`, `"abc"`.
    var shown: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case let .scalar(s):
            if isNull { return "nothing" }
            return s.style == .plain || s.style == .any ? "'\(s.string)'" : "the string \"\(s.string)\""
        }
    }

    var isNull: Bool {
        guard case let .scalar(s) = node else { return false }
        return node.tag.rawValue == Tag.Name.null.rawValue || (s.style == .plain && s.string.isEmpty)
    }

    private var plainScalar: String? {
        guard case let .scalar(s) = node, s.style == .plain || s.style == .any, !isNull else { return nil }
        return s.string
    }

    func string(nonEmpty: Bool = true) -> String? {
        guard case let .scalar(s) = node, !isNull else {
            fail("expected a string, got \(shown)")
            return nil
        }
        if nonEmpty, s.string.isEmpty {
            fail("must not be empty")
            return nil
        }
        return s.string
    }

    func int(_ range: ClosedRange<Int>) -> Int? {
        guard let text = plainScalar, let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            fail("expected an integer, got \(shown)")
            return nil
        }
        guard range.contains(value) else {
            fail(Self.rangeProblem(range.lowerBound, range.upperBound, value))
            return nil
        }
        return value
    }

    /// A finite number in `range`; `exclusiveLower` makes the lower bound itself invalid (`lr > 0`).
    func double(_ range: ClosedRange<Double>, exclusiveLower: Bool = false) -> Double? {
        guard let text = plainScalar, let value = Double(text.replacingOccurrences(of: "_", with: "")),
              value.isFinite
        else {
            fail("expected a number, got \(shown)")
            return nil
        }
        if exclusiveLower, value <= range.lowerBound {
            fail("must be > \(Self.format(range.lowerBound)), got \(Self.format(value))")
            return nil
        }
        guard range.contains(value) else {
            fail(Self.rangeProblem(range.lowerBound, range.upperBound, value))
            return nil
        }
        return value
    }

    func bool() -> Bool? {
        guard let text = plainScalar else {
            fail("expected true or false, got \(shown)")
            return nil
        }
        switch text {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default:
            fail("expected true or false, got \(shown)")
            return nil
        }
    }

    /// One of `cases`, e.g. `cosine | linear | constant`.
    func oneOf<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> E? where E.RawValue == String {
        guard let text = string() else { return nil }
        if let value = E(rawValue: text) { return value }
        let names = E.allCases.map(\.rawValue)
        fail("expected one of \(names.joined(separator: ", ")), got '\(text)'\(Suggest.hint(text, names))")
        return nil
    }

    func map() -> YAMLMap? {
        guard case let .mapping(m) = node else {
            fail("expected a mapping, got \(shown)")
            return nil
        }
        return YAMLMap(mapping: m, path: path, sink: sink)
    }

    func list() -> [YAMLValue]? {
        guard case let .sequence(s) = node else {
            fail("expected a list, got \(shown)")
            return nil
        }
        return s.enumerated().map { YAMLValue(node: $0.element, path: "\(path)[\($0.offset)]", sink: sink) }
    }

    /// A list of strings; a single string is accepted as a one-element list.
    func stringList() -> [String]? {
        if case .scalar = node, !isNull { return string().map { [$0] } }
        guard let items = list() else { return nil }
        let strings = items.compactMap { $0.string() }
        return strings.count == items.count ? strings : nil
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }

    static func rangeProblem<T: Comparable & CustomStringConvertible>(_ lo: T, _ hi: T, _ value: T) -> String {
        func show(_ v: T) -> String {
            if let d = v as? Double { return format(d) }
            return v.description
        }
        if let hiInt = hi as? Int, hiInt == Int.max { return "must be ≥ \(show(lo)), got \(show(value))" }
        if let hiD = hi as? Double, hiD == .greatestFiniteMagnitude { return "must be ≥ \(show(lo)), got \(show(value))" }
        return "must be between \(show(lo)) and \(show(hi)), got \(show(value))"
    }
}

/// A YAML mapping being read key by key. Every key read is remembered; `finish` reports the keys
/// nobody read as unknown (with the closest known key as a hint), so a typo is never silently
/// ignored and never becomes a default.
final class YAMLMap {
    let mapping: Node.Mapping
    let path: String
    let sink: DiagnosticSink
    private var entries: [(key: String, keyMark: Mark?, value: Node)] = []
    private var used: Set<String> = []

    init(mapping: Node.Mapping, path: String, sink: DiagnosticSink) {
        self.mapping = mapping
        self.path = path
        self.sink = sink
        for (k, v) in mapping {
            guard case let .scalar(s) = k else {
                sink.report(k.mark, path, "keys must be plain names, got a \(k.mapping != nil ? "mapping" : "list")")
                continue
            }
            entries.append((s.string, k.mark, v))
        }
    }

    var mark: Mark? { mapping.mark }
    var keys: [String] { entries.map(\.key) }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// The value of `key`, or nil when absent. Marks the key as read.
    func value(_ key: String) -> YAMLValue? {
        used.insert(key)
        guard let e = entries.first(where: { $0.key == key }) else { return nil }
        return YAMLValue(node: e.value, path: childPath(key), sink: sink)
    }

    /// The value of `key`, reporting a missing required key at the mapping's own line.
    func required(_ key: String) -> YAMLValue? {
        guard let v = value(key) else {
            sink.report(mark, childPath(key), "missing required key")
            return nil
        }
        return v
    }

    /// All entries in document order (for mappings whose keys are names, like `adapters:`).
    func allEntries() -> [(key: String, value: YAMLValue)] {
        entries.map { e in
            used.insert(e.key)
            return (e.key, YAMLValue(node: e.value, path: childPath(e.key), sink: sink))
        }
    }

    /// Marks `key` as read without reading it (a key deliberately accepted and ignored).
    func markUsed(_ key: String) { used.insert(key) }

    /// Reports every key not read. `known` lists keys valid here in general, for the hint; a key
    /// in `notApplicable` gets that explanation instead of "unknown key".
    func finish(known: [String], notApplicable: [String: String] = [:]) {
        for e in entries where !used.contains(e.key) {
            if let why = notApplicable[e.key] {
                sink.report(e.keyMark, childPath(e.key), why)
            } else {
                let hint = Suggest.hint(e.key, known)
                let list = known.sorted().joined(separator: ", ")
                sink.report(e.keyMark, childPath(e.key), "unknown key\(hint.isEmpty ? " (known keys: \(list))" : hint)")
            }
        }
    }
}

/// "did you mean" hints for misspelt keys and values (Damerau-free Levenshtein distance ≤ 2,
/// or one being a case-insensitive prefix of the other).
enum Suggest {
    static func hint(_ word: String, _ candidates: [String]) -> String {
        guard let best = closest(word, candidates) else { return "" }
        return " (did you mean '\(best)'?)"
    }

    static func closest(_ word: String, _ candidates: [String]) -> String? {
        let w = Array(word.lowercased())
        var best: (String, Int)?
        for c in candidates {
            let cl = Array(c.lowercased())
            let d = distance(w, cl)
            let limit = max(1, min(2, max(w.count, cl.count) / 3))
            let prefix = min(w.count, cl.count) >= 3 && (w.starts(with: cl) || cl.starts(with: w))
            if d <= limit || prefix, best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0 ... b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1 ... a.count {
            cur[0] = i
            for j in 1 ... b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
