import Foundation

/// `manifest.json` of a `.sira` package (DESIGN.md §6): what the adapters are, what they were
/// trained on top of, and how well they did. The caller (the package stage) fills it; the writer
/// checks it against the files, `verify` checks it again on the way in.
///
/// One shape serves both package kinds: `adapters` is a table from a name to an adapter. An
/// `adapter` package has exactly one entry; a `bundle` (issue #7: task adapters for serving) has
/// one per task, plus optionally a multitask adapter serving several `tasks`.
///
/// JSON keys are snake_case; `format_version` grows only with incompatible changes.
public struct PackageManifest: Codable, Sendable, Equatable {
    public static let formatName = "sira-package"
    public static let currentFormatVersion = 1

    public enum Kind: String, Codable, Sendable {
        case adapter, bundle
    }

    /// The frozen base model the adapters apply to.
    public struct Base: Codable, Sendable, Equatable {
        /// Human identity: "builtin-llama-4x256" or an HF model id / folder name.
        public var name: String
        /// Content hash of the base weights (the identity that matters).
        public var sha256: String
        /// The base's `config.json` content, if the caller wants it recorded.
        public var config: JSONValue?

        public init(name: String, sha256: String, config: JSONValue? = nil) {
            self.name = name
            self.sha256 = sha256
            self.config = config
        }
    }

    /// The tokenizer file shipped in the package.
    public struct Tokenizer: Codable, Sendable, Equatable {
        public var file: String
        /// sha256 of `file`'s bytes; the writer refuses a mismatch.
        public var sha256: String

        public init(file: String = "tokenizer.json", sha256: String) {
            self.file = file
            self.sha256 = sha256
        }
    }

    /// One adapter in the package.
    public struct Adapter: Codable, Sendable, Equatable {
        /// Its `.safetensors` file inside the package.
        public var file: String
        /// lora | molora | sira | multitask.
        public var variant: String
        /// The task(s) it serves (one, except for a multitask adapter).
        public var tasks: [String]
        /// Hyper-parameters and target modules (PEFT-like `adapter_config` content).
        public var config: JSONValue
        /// Evaluation results, e.g. `{"exact_match": 0.93, "eval_loss": 0.41}` (multitask: keys
        /// prefixed `<task>/`).
        public var metrics: [String: Double]

        public init(file: String, variant: String, tasks: [String], config: JSONValue, metrics: [String: Double]) {
            self.file = file
            self.variant = variant
            self.tasks = tasks
            self.config = config
            self.metrics = metrics
        }
    }

    public var format: String
    public var formatVersion: Int
    public var kind: Kind
    public var toolVersion: String
    /// ISO 8601, UTC.
    public var createdAt: String
    public var pipeline: String?
    public var runID: Int64?
    public var base: Base
    public var tokenizer: Tokenizer
    public var adapters: [String: Adapter]
    /// Anything else the caller wants to ship (free form).
    public var extra: JSONValue?

    public init(kind: Kind = .adapter, toolVersion: String, createdAt: Date = Date(), pipeline: String? = nil,
                runID: Int64? = nil, base: Base, tokenizer: Tokenizer, adapters: [String: Adapter],
                extra: JSONValue? = nil) {
        format = Self.formatName
        formatVersion = Self.currentFormatVersion
        self.kind = kind
        self.toolVersion = toolVersion
        self.createdAt = Self.timestamp(createdAt)
        self.pipeline = pipeline
        self.runID = runID
        self.base = base
        self.tokenizer = tokenizer
        self.adapters = adapters
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case kind
        case toolVersion = "tool_version"
        case createdAt = "created_at"
        case pipeline
        case runID = "run_id"
        case base, tokenizer, adapters, extra
    }

    /// Seconds-precision ISO 8601 in UTC, e.g. `2025-01-31T02:00:00Z`.
    public static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    /// The bytes of `manifest.json`: pretty, keys sorted (stable hashes), non-finite metrics as
    /// strings "nan"/"inf"/"-inf" (JSON has no such numbers).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                      nan: "nan")
        return Array(try encoder.encode(self)) + [0x0A]
    }

    public static func decode(_ bytes: [UInt8]) throws -> PackageManifest {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                        nan: "nan")
        return try decoder.decode(PackageManifest.self, from: Data(bytes))
    }

    /// The first thing wrong with a manifest's JSON, naming the key (`adapters.dates.config:
    /// missing`), or nil. Checked on the raw JSON so a missing key is reported by name rather
    /// than as a decoding error; `files` are the archive's entries, which referenced files must be among.
    static func problem(inJSON bytes: [UInt8], files: Set<String>) -> String? {
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            return "not a JSON object"
        }
        func need<T>(_ object: [String: Any], _ key: String, _ path: String, _: T.Type) -> (T?, String?) {
            guard let value = object[key] else { return (nil, "\(path)\(key): missing") }
            guard let typed = value as? T else { return (nil, "\(path)\(key): wrong type (\(type(of: value)))") }
            return (typed, nil)
        }
        let (format, e1) = need(root, "format", "", String.self)
        if let e1 { return e1 }
        if format != formatName { return "format: '\(format!)' is not '\(formatName)'" }
        let (version, e2) = need(root, "format_version", "", Int.self)
        if let e2 { return e2 }
        if version! < 1 || version! > currentFormatVersion {
            return "format_version: \(version!) is not supported (this tool reads up to \(currentFormatVersion))"
        }
        let (kind, e3) = need(root, "kind", "", String.self)
        if let e3 { return e3 }
        guard let kindValue = Kind(rawValue: kind!) else { return "kind: '\(kind!)' is not adapter or bundle" }
        for key in ["tool_version", "created_at"] {
            if let e = need(root, key, "", String.self).1 { return e }
        }
        let (base, e4) = need(root, "base", "", [String: Any].self)
        if let e4 { return e4 }
        for key in ["name", "sha256"] {
            if let e = need(base!, key, "base.", String.self).1 { return e }
        }
        let (tokenizer, e5) = need(root, "tokenizer", "", [String: Any].self)
        if let e5 { return e5 }
        for key in ["file", "sha256"] {
            if let e = need(tokenizer!, key, "tokenizer.", String.self).1 { return e }
        }
        if let file = tokenizer!["file"] as? String, !files.contains(file) {
            return "tokenizer.file: '\(file)' is not in the package"
        }
        let (adapters, e6) = need(root, "adapters", "", [String: Any].self)
        if let e6 { return e6 }
        if adapters!.isEmpty { return "adapters: empty" }
        if kindValue == .adapter, adapters!.count != 1 {
            return "adapters: an 'adapter' package holds exactly one adapter, this one \(adapters!.count)"
        }
        for name in adapters!.keys.sorted() {
            let path = "adapters.\(name)."
            guard let entry = adapters![name] as? [String: Any] else { return "adapters.\(name): not an object" }
            let (file, e7) = need(entry, "file", path, String.self)
            if let e7 { return e7 }
            if !files.contains(file!) { return "\(path)file: '\(file!)' is not in the package" }
            if let e = need(entry, "variant", path, String.self).1 { return e }
            let (tasks, e8) = need(entry, "tasks", path, [Any].self)
            if let e8 { return e8 }
            if tasks!.isEmpty || !tasks!.allSatisfy({ $0 is String }) { return "\(path)tasks: must be a non-empty list of names" }
            if let e = need(entry, "config", path, [String: Any].self).1 { return e }
            if let e = need(entry, "metrics", path, [String: Any].self).1 { return e }
        }
        return nil
    }
}
