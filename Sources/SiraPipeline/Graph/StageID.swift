/// The kinds of stage, in pipeline order (DESIGN.md §3). `merge` compares the evaluated variants
/// and selects each task's adapter for the bundle.
public enum StageKind: String, Sendable, Codable, CaseIterable, Comparable {
    case ingest, tokenizer, tokenize, base, train, evaluate, merge, package

    var order: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: StageKind, b: StageKind) -> Bool { a.order < b.order }
}

/// A stage's identity within a pipeline: its kind, expanded per task and per adapter variant.
/// Written `kind@task:variant`, e.g. `ingest@dates`, `tokenizer`, `train@dates:sira`,
/// `train:multitask` (one adapter over all tasks), `evaluate@dates:base` (the base alone).
public struct StageID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var kind: StageKind
    public var task: String?
    public var variant: String?

    public init(_ kind: StageKind, task: String? = nil, variant: String? = nil) {
        self.kind = kind
        self.task = task
        self.variant = variant
    }

    /// The variant name under which the base model is evaluated without an adapter.
    public static let baseVariant = "base"
    /// The variant name of the one package that bundles every adapter (`package@bundle`).
    public static let bundleVariant = "bundle"

    public var description: String {
        var s = kind.rawValue
        if let task { s += "@" + task }
        if let variant { s += ":" + variant }
        return s
    }

    /// Parses `kind@task:variant` (as printed by `description`).
    public init?(parsing text: String) {
        var rest = Substring(text)
        var variant: String?
        if let colon = rest.lastIndex(of: ":") {
            variant = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var task: String?
        if let at = rest.firstIndex(of: "@") {
            task = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        guard let kind = StageKind(rawValue: String(rest)) else { return nil }
        if task?.isEmpty == true || variant?.isEmpty == true { return nil }
        self.init(kind, task: task, variant: variant)
    }

    public static func < (a: StageID, b: StageID) -> Bool {
        if a.kind != b.kind { return a.kind < b.kind }
        if a.task != b.task { return (a.task ?? "") < (b.task ?? "") }
        return (a.variant ?? "") < (b.variant ?? "")
    }
}
