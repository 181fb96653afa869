import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages

/// `sira-pipeline slurm-check [--workspace DIR] [--partition P] [--account A] [--time T]
/// [--memory M] [--cpus N] [--tasks N] [--keep]`: before trusting a cluster with a pipeline,
/// checks end to end that it can run one. A small synthetic pipeline of the real one's shape
/// (per-task job arrays, a join, per-task chains after it, a final join; task names with spaces,
/// quotes and `$(...)`) runs on Slurm from a scratch folder inside the workspace, and again in
/// this process; every stage must succeed on Slurm with the same metrics. This proves the shared
/// filesystem, the binary path on the nodes, arrays, dependencies and result reporting.
///
/// Exit status: 0 the cluster ran everything and agreed, 1 it did not (the table says where).
struct SlurmCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm-check",
        abstract: "Check that this Slurm cluster runs pipelines: a synthetic pipeline on Slurm and locally, compared.",
        discussion: "Exit status: 0 every stage succeeded on Slurm with the local metrics, 1 otherwise."
    )

    @Option(help: "The workspace root; scratch files go to DIR/data/slurm-check/ (default: the current folder).")
    var workspace: String?

    @Option(help: "Slurm partition.")
    var partition: String?

    @Option(help: "Slurm account.")
    var account: String?

    @Option(help: "Time limit per job.")
    var time = "00:10:00"

    @Option(help: "Memory per job.")
    var memory = "500M"

    @Option(help: "CPUs per job.")
    var cpus = 1

    @Option(help: "Tasks of the synthetic pipeline (job array size).")
    var tasks = 3

    @Flag(help: "Keep the scratch folders (their data/slurm/ shows the job scripts and results).")
    var keep = false

    func validate() throws {
        if !(1 ... 200).contains(tasks) { throw ValidationError("--tasks must be 1...200") }
        if cpus < 1 { throw ValidationError("--cpus must be at least 1") }
    }

    func run() throws {
        let root = Workspace(root: URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath))
        let scratch = root.dataFolder.appendingPathComponent("slurm-check").appendingPathComponent(UUID().uuidString)
        let names = ["alpha", "b c", "it's $(quoted)"]
        let probe = ProbePipeline(tasks: (0 ..< tasks).map { "\(names[$0 % names.count]) \($0)" }, seconds: 1, seed: 1)
        let spec = SlurmSpec(partition: partition, account: account, time: time, memory: memory, cpus: cpus, arrayLimit: nil)

        print("slurm-check: \(probe.stages().count) stages, job arrays of \(tasks) tasks, in \(root.relative(scratch))")
        let slurm = try runProbe(probe, in: scratch.appendingPathComponent("slurm"), executor: SlurmExecutor(options: SlurmExecutorOptions(spec: spec)))
        let local = try runProbe(probe, in: scratch.appendingPathComponent("local"), executor: LocalExecutor())

        var ok = slurm.status == .succeeded
        var rows: [[String]] = []
        for stage in local.stages {
            let remote = slurm.stage(stage.id)
            let same = remote?.metrics == stage.metrics
            ok = ok && same && remote?.status == .succeeded
            rows.append([stage.id.description, remote?.status.rawValue ?? "-", stage.status.rawValue, same ? "same" : "DIFFERENT",
                         remote?.error ?? ""])
        }
        print(TextTable(["stage", "slurm", "local", "metrics", "error"], rows: rows).render())
        print(ok ? "slurm-check: the cluster ran every stage and matched the local results (\(String(format: "%.0f", slurm.seconds)) s)"
                 : "slurm-check: FAILED; job outputs are in \(root.relative(scratch))/slurm/data/slurm/ (kept)")
        if !ok { throw ExitCode(1) }
        if !keep { try? FileManager.default.removeItem(at: scratch) }
    }

    private func runProbe(_ probe: ProbePipeline, in folder: URL, executor: StageExecutor) throws -> RunSummary {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let session = try WorkspaceSession(workspace: Workspace(root: folder), recorder: MemoryRecorder(), executor: executor, command: "slurm-check")
        defer { session.close() }
        let signals = SignalWatcher { _ in session.cancel() }
        defer { signals.stop() }
        return try session.run(stages: probe.stages(), pipeline: "slurm-check", manifestHash: "probe", jobs: 1, retries: 0,
                               options: RunOptions(heartbeatInterval: 5, source: .probe(probe)), observer: nil)
    }
}
