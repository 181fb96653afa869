import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// `sira-pipeline run MANIFEST... [--jobs N] [--workspace DIR] [--all] [--executor local|slurm]`: runs pipelines once,
/// in order, as the workspace's one scheduler. Unchanged stages come from the cache; a run that
/// was interrupted (Ctrl-C, `kill`, a crash) is resumed by running it again.
///
/// Exit status: 0 every run succeeded; 1 a stage failed; 65 a manifest is invalid;
/// 75 another scheduler holds the workspace (try again later); 130 stopped by a signal.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run pipelines: unchanged stages are reused from the cache, interrupted runs resume.",
        discussion: "Exit status: 0 success, 1 a stage failed, 65 invalid manifest, 75 workspace busy, 130 interrupted."
    )

    @Argument(help: "Manifest files (YAML).")
    var manifests: [String] = []

    @Flag(help: "Run every manifest in the workspace's pipelines/ folder (for cron or a systemd timer).")
    var all = false

    @Option(help: "Stages to run at once (default: the manifest's `jobs`).")
    var jobs: Int?

    @Option(help: "The workspace folder (default: the current folder).")
    var workspace: String?

    @Flag(help: "Plain timestamped lines even on a terminal.")
    var plain = false

    @Option(help: "Why this run happens, as recorded: manual, schedule, watch, resume.")
    var trigger = "manual"

    @Option(help: "Where stages run: local or slurm (default: the manifest's `executor`; slurm takes its settings from the manifest's `executor: {slurm: ...}` when present).")
    var executor: ExecutorChoice?

    @Option(name: .customLong("force"), help: ArgumentHelp("Run the stages whose id matches GLOB even when cached (repeatable): train@dates:sira, 'train@*:sira', '*@dates*'. Each glob must match a stage of every manifest run.", valueName: "GLOB"))
    var force: [String] = []

    enum ExecutorChoice: String, ExpressibleByArgument, CaseIterable {
        case local, slurm
    }

    func validate() throws {
        if manifests.isEmpty, !all { throw ValidationError("give a manifest (pipelines/demo.yaml) or --all") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let root = URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath)
        let ws = Workspace(root: root)
        var paths = manifests
        if all { paths += ManifestDiscovery.manifests(in: ws).map { ws.relative($0) } }
        var loaded: [Manifest] = []
        var invalid = false
        for path in paths {
            let url = path.hasPrefix("/") || manifests.contains(path) ? URL(fileURLWithPath: path) : ws.resolve(path)
            do {
                loaded.append(try ManifestLoader.load(url, displayPath: path))
            } catch let e as ManifestError {
                invalid = true
                FileHandle.standardError.write(Data((e.description + "\n").utf8))
            }
        }
        if invalid { throw ExitCode(65) }
        if loaded.isEmpty {
            print("no manifests in \(ws.relative(ws.root.appendingPathComponent("pipelines")))")
            return
        }

        // A --force glob that matches nothing is refused before anything runs.
        if !force.isEmpty {
            for manifest in loaded {
                do {
                    _ = try ForcedStages.select(force, among: PipelinePlanner.plan(manifest, ws).map(\.id), pipeline: manifest.name)
                } catch let failure as StageFailure {
                    throw ValidationError(failure.description)
                }
            }
        }

        let session: WorkspaceSession
        do {
            let recorder = try StoreRecorder(workspace: ws)
            session = try WorkspaceSession(workspace: ws, recorder: recorder,
                                           command: (["sira-pipeline", "run"] + CommandLine.arguments.dropFirst(2)).joined(separator: " "))
        } catch let busy as WorkspaceBusy {
            FileHandle.standardError.write(Data("sira-pipeline: \(busy)\n".utf8))
            throw ExitCode(75)
        }
        defer { session.close() }
        let display = ProgressDisplay.forStandardOutput(plain: plain)
        for id in session.crashedRuns {
            display.handle(.notice("run \(id) was left running by a process that died: marked crashed; its finished stages are reused and training resumes from saved state"))
        }
        // The scheduler says "stopping: ..." once; the CLI adds only how to quit at once.
        let signals = SignalWatcher { _ in
            session.cancel()
        }
        defer { signals.stop() }

        var worst: Int32 = 0
        for manifest in loaded {
            var options = RunOptions(jobs: jobs, trigger: session.crashedRuns.isEmpty ? trigger : "resume", force: force)
            switch (executor, manifest.executor) {
            case (nil, _): break
            case (.local, _): options.executor = LocalExecutor()
            case let (.slurm, .slurm(spec)): options.executor = SlurmExecutor(options: SlurmExecutorOptions(spec: spec))
            case (.slurm, .local): options.executor = SlurmExecutor(options: SlurmExecutorOptions(spec: SlurmSpec.defaults))
            }
            let summary = try session.run(manifest: manifest, planner: { try PipelinePlanner.plan($0, $1) }, options: options, observer: display)
            RunSummaryPrinter(summary: summary, manifest: manifest, workspace: ws).print()
            switch summary.status {
            case .succeeded: break
            case .cancelled: worst = 130
            default: worst = max(worst, 1)
            }
            if session.isCancelled { break }
        }
        if worst != 0 { throw ExitCode(worst) }
    }
}
