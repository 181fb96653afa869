import Foundation
import SiraIO
import Yams

/// Reads and validates manifests. Every problem is reported as `file:line: key.path: problem`;
/// one manifest with any problem does not load (the error lists them all).
public enum ManifestLoader {
    /// Names a task may not take because stage ids use them.
    public static let reservedTaskNames: Set<String> = ["multitask", "base", "all"]

    public static func load(_ url: URL, displayPath: String? = nil) throws -> Manifest {
        let shown = displayPath ?? url.path
        func unreadable(_ problem: String) -> ManifestError {
            ManifestError([ManifestDiagnostic(file: shown, line: 0, column: 0, keyPath: "", problem: problem)])
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw unreadable("no such file")
        }
        if isFolder.boolValue { throw unreadable("a folder, not a manifest file") }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url)
        } catch {
            throw unreadable("cannot read: \((error as NSError).localizedDescription)")
        }
        guard let text = String(data: bytes, encoding: .utf8) else { throw unreadable("not UTF-8 text") }
        return try parse(yaml: text, file: shown)
    }

    public static func parse(yaml: String, file: String) throws -> Manifest {
        let sink = DiagnosticSink(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ManifestError([syntaxDiagnostic(error, file: file)])
        }
        guard let root else {
            throw ManifestError([ManifestDiagnostic(file: file, line: 1, column: 1, keyPath: "", problem: "the manifest is empty")])
        }
        let top = YAMLValue(node: root, path: "", sink: sink)
        guard let map = top.map() else { throw ManifestError(sink.items) }
        let manifest = ManifestSections(map: map, sink: sink, file: file, sha256: ContentHash.sha256(yaml)).read()
        if !sink.items.isEmpty { throw ManifestError(sink.items) }
        return manifest
    }

    static func syntaxDiagnostic(_ error: YamlError, file: String) -> ManifestDiagnostic {
        func make(_ mark: Mark, _ problem: String) -> ManifestDiagnostic {
            ManifestDiagnostic(file: file, line: mark.line, column: mark.column, keyPath: "", problem: "YAML syntax: \(problem)")
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let ctx = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return make(mark, problem + ctx)
        case let .duplicatedKeysInMapping(duplicates, context):
            return ManifestDiagnostic(
                file: file, line: context.mark.line, column: context.mark.column, keyPath: "",
                problem: "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in one mapping"
            )
        default:
            return ManifestDiagnostic(file: file, line: 1, column: 1, keyPath: "", problem: "YAML: \(error)")
        }
    }
}
