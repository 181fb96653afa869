import Foundation
import Logging
import SiraIO
import SiraPipeline

/// A `watch` daemon with a synthetic, resumable stage, run as a separate process by the crash
/// tests (which kill it with -9): `WatchTestHost WORKSPACE STEPS`.
///
/// Each run has one stage that counts to STEPS, saving the count in its work folder after every
/// step (20 ms apart) and reporting it as the `train.loss` series, so a test can see where a resumed
/// run started. Logs go to standard error as JSON lines.
@main
struct WatchTestHost {
    static func main() {
        let args = CommandLine.arguments
        guard args.count == 3, let steps = Int(args[2]) else {
            FileHandle.standardError.write(Data("usage: WatchTestHost WORKSPACE STEPS\n".utf8))
            exit(2)
        }
        let workspace = Workspace(root: URL(fileURLWithPath: args[1]))
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: .json) }
        let planner: StagePlanner = { manifest, _ in [CountingStage(task: manifest.tasks[0].name, steps: steps)] }
        let daemon = WatchDaemon(workspace: workspace,
                                 options: WatchOptions(stabilityWindow: 0.05, heartbeatInterval: 0.2),
                                 planner: planner, quarantine: dataQuarantine(workspace))
        do {
            try daemon.start()
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(1)
        }
        exit(daemon.runUntilSignalled())
    }
}

struct CountingStage: PipelineStage {
    var task: String
    var steps: Int
    var id: StageID { StageID(.ingest, task: task) }
    var dependencies: [StageID] { [] }

    /// The step count is not part of the key: a resumed run with another target continues the
    /// same work folder.
    func parameters() throws -> String { "{\"stage\":\"counting\"}" }

    func run(_ context: StageContext) throws -> StageResult {
        let state = context.workFolder.appendingPathComponent("step")
        var step = (try? String(contentsOf: state, encoding: .utf8)).flatMap { Int($0) } ?? 0
        while step < steps {
            try context.checkCancelled()
            step += 1
            Thread.sleep(forTimeInterval: 0.02)
            try AtomicFile.write(String(step), to: state)
            context.progress(step: step, of: steps, loss: 1 / Double(step))
        }
        try String(step).write(to: context.outputFolder.appendingPathComponent("steps"), atomically: true, encoding: .utf8)
        return StageResult(metrics: ["steps": Double(step)])
    }
}
