import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages

/// `sira-pipeline validate MANIFEST...`: loads each manifest exactly as `run` would and prints
/// every problem as `file:line: key: problem`. Exit status 65 (EX_DATAERR) when any manifest is
/// invalid: the status `run` gives for the same manifest.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check pipeline manifests; every problem is reported as file:line: key: problem."
    )

    @Argument(help: "Manifest files (YAML).")
    var manifests: [String]

    @Option(help: "The workspace the manifests' paths are relative to (default: the current folder).")
    var workspace: String?

    func run() throws {
        var failed = 0
        for path in manifests {
            do {
                let loaded = try ManifestLoader.load(URL(fileURLWithPath: path), displayPath: path)
                let ws = Workspace(root: URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath))
                // Folder-template tasks as a run would plan them now (one per folder present).
                let manifest = TaskFolders.expand(loaded, in: ws)
                for template in loaded.tasks where TaskFolders.isTemplate(template.from) {
                    let count = manifest.tasks.count - loaded.tasks.filter { !TaskFolders.isTemplate($0.from) }.count
                    print("\(path): note: '\(template.from)' makes one task per folder: \(count) now")
                }
                if manifest.adaptedTasks.isEmpty, loaded.tasks.contains(where: { TaskFolders.isTemplate($0.from) }) {
                    print("\(path): ok: pipeline '\(manifest.name)': no task folder yet, nothing to plan")
                    continue
                }
                let graph = try StageGraph(manifest: manifest)
                let missing = TaskSources.unmatched(manifest, workspace: ws)
                for task in missing {
                    print("\(path): warning: task '\(task.name)': no file matches '\(task.from)' yet")
                }
                let tooLarge = VariantResolution.memoryProblems(manifest, ws)
                for problem in tooLarge { FileHandle.standardError.write(Data("\(path): \(problem)\n".utf8)) }
                if !tooLarge.isEmpty { failed += 1; continue }
                print("\(path): ok: pipeline '\(manifest.name)', \(manifest.tasks.count) task(s), \(manifest.adapters.count) variant(s), \(graph.stages.count) stages")
            } catch let error as ManifestError {
                failed += 1
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
            }
        }
        if failed > 0 { throw ExitCode(65) }
    }
}
