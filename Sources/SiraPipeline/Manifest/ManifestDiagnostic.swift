/// One problem found in a manifest, located by file, line and key path
/// (`pipelines/demo.yaml:12: train.lr: must be > 0, got -1`), the format every load reports.
public struct ManifestDiagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// Dotted path from the root, with sequence indices: `tasks[1].columns.prompt`. Empty for
    /// problems of the whole document (a YAML syntax error).
    public var keyPath: String
    public var problem: String

    public init(file: String, line: Int, column: Int, keyPath: String, problem: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.problem = problem
    }

    /// `file:line: key.path: problem`; line 0 stands for the whole file (it cannot be read).
    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        return keyPath.isEmpty ? "\(place): \(problem)" : "\(place): \(keyPath): \(problem)"
    }
}

/// All the problems of one manifest; a manifest with any problem is not loaded at all.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ManifestDiagnostic]

    public init(_ diagnostics: [ManifestDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
