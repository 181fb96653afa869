import Foundation

/// Task-per-folder sources: a task whose `from` holds `{task}` as one whole path component
/// (`from: "data/inbox/{task}/*.jsonl"`) stands for one task per sub-folder found there, named by
/// the folder. A new folder is a new task; a new file in a folder is a new version of that task's
/// data. The manifest keeps the template; every plan (`run`, each `watch` run, `validate`) expands
/// it against the folders present at that moment, so the tasks follow what people drop.
///
/// Folders are taken when their name is a valid task name (letters, digits, `-`, `_`, `.`, not
/// starting with `.`) and does not clash with a task the manifest names itself (that one wins).
public enum TaskFolders {
    public static let placeholder = "{task}"

    /// Whether a task's `from` is a folder template.
    public static func isTemplate(_ from: String) -> Bool { from.contains(placeholder) }

    /// The template as a glob (the placeholder matches one path component), for matching files.
    public static func glob(_ from: String) -> String { from.replacingOccurrences(of: placeholder, with: "*") }

    /// What is wrong with a template, nil when it is usable: the placeholder must be one whole
    /// path component, once, with no glob characters before it (the folder listed must be fixed).
    public static func problem(_ from: String) -> String? {
        let parts = from.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let holders = parts.indices.filter { parts[$0].contains(placeholder) }
        guard holders.count == 1, let i = holders.first, parts[i] == placeholder else {
            return "'\(placeholder)' must appear once, as a whole path component (e.g. data/inbox/\(placeholder)/*.jsonl)"
        }
        if parts[..<i].contains(where: Glob.hasMagic) {
            return "no glob characters may come before '\(placeholder)' (the folder holding the task folders must be fixed)"
        }
        return nil
    }

    /// The folder that holds the task folders (`data/inbox` for `data/inbox/{task}/*.jsonl`).
    public static func parent(_ from: String) -> String {
        let parts = from.split(separator: "/", omittingEmptySubsequences: false)
        let i = parts.firstIndex { $0 == Substring(placeholder) } ?? parts.count
        return parts[..<i].joined(separator: "/")
    }

    /// The task a file at `path` (absolute) belongs to under the template, nil when it does not match.
    public static func taskName(for path: String, template from: String, workspace: Workspace) -> String? {
        guard InboxRouter.matches(glob(from), path: path, workspace: workspace) else { return nil }
        let parentPath = workspace.resolve(parent(from)).standardizedFileURL.path
        let rest = path.hasPrefix(parentPath + "/") ? path.dropFirst(parentPath.count + 1) : ""
        return rest.split(separator: "/").first.map(String.init)
    }

    /// The manifest with each template task replaced by one task per folder present now.
    public static func expand(_ manifest: Manifest, in workspace: Workspace) -> Manifest {
        guard manifest.tasks.contains(where: { isTemplate($0.from) }) else { return manifest }
        var out = manifest
        let named = Set(manifest.tasks.filter { !isTemplate($0.from) }.map(\.name))
        var tasks: [TaskSpec] = [], made: [String] = []
        for task in manifest.tasks {
            guard isTemplate(task.from) else { tasks.append(task); continue }
            for folder in folders(under: workspace.resolve(parent(task.from))) where !named.contains(folder) && !made.contains(folder) {
                var t = task
                t.name = folder
                t.from = task.from.replacingOccurrences(of: placeholder, with: folder)
                tasks.append(t)
                made.append(folder)
            }
        }
        out.tasks = tasks
        // A corpus that defaulted to every task names the template: it means every folder's task.
        func corpus(_ list: [String]) -> [String] { list.flatMap { $0 == placeholder ? made : [$0] } }
        if case let .train(vocab, c) = out.tokenizer { out.tokenizer = .train(vocabSize: vocab, corpus: corpus(c)) }
        if case var .builtin(b) = out.base {
            b.corpus = corpus(b.corpus)
            out.base = .builtin(b)
        }
        return out
    }

    /// Sub-folders whose names are usable task names, sorted.
    static func folders(under url: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { name in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDir) && isDir.boolValue
                && ManifestSections.isValidName(name) && !ManifestLoader.reservedTaskNames.contains(name)
        }.sorted()
    }
}
