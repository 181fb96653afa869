import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages

/// `sira-pipeline stage-exec --workspace DIR --run RUN --stage STAGE [--attempt N]`: what every
/// Slurm job runs. One attempt of one stage of a run submitted by `run` with `executor: slurm`,
/// reported through the run's folder on the shared filesystem (`data/slurm/<run>/`), never
/// through SQLite. SIGTERM (scancel, the time limit) lets the stage save its state and stop.
///
/// Exit status: 0 output produced or cached, 1 the stage failed, 2 the job could not even report
/// (see its output file), 3 stopped by a signal.
struct StageExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage-exec",
        abstract: "Run one stage of a submitted run (what each Slurm job runs).",
        discussion: "Exit status: 0 done, 1 the stage failed, 2 the job could not report, 3 stopped by a signal."
    )

    @Option(help: "The workspace root, as seen from this node.")
    var workspace: String

    @Option(name: .customLong("run"), help: "The run id.")
    var runID: Int64

    @Option(help: "The stage id, e.g. train@dates:sira.")
    var stage: String

    @Option(help: "The attempt number (1 for the first).")
    var attempt: Int = 1

    func validate() throws {
        if attempt < 1 { throw ValidationError("--attempt must be at least 1") }
    }

    func run() throws {
        let flag = CancellationFlag()
        let signals = SignalWatcher { sig in
            FileHandle.standardError.write(Data("stage-exec: signal \(sig): saving state and stopping\n".utf8))
            flag.cancel()
        }
        defer { signals.stop() }
        let ws = Workspace(root: URL(fileURLWithPath: workspace))
        let status = StageExec.run(workspace: ws, planner: { try PipelinePlanner.plan($0, $1) }, runID: runID, stage: stage, attempt: attempt, cancellation: flag) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        if status != 0 { throw ExitCode(status) }
    }
}
