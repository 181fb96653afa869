import Foundation
import Logging
import SiraStore

/// Turns a run's scheduler events into log lines (one per run start/end, per stage end, notices;
/// progress is left to the stage logs) and tells the daemon when the run has started.
final class RunLogObserver: PipelineObserver, @unchecked Sendable {
    private let logger: Logger
    private let onStart: @Sendable (Int64) -> Void
    /// The run the events belong to (set by `runStarted`, which comes first), for log paths.
    private var runID: Int64?

    init(logger: Logger, onStart: @escaping @Sendable (Int64) -> Void) {
        self.logger = logger
        self.onStart = onStart
    }

    func handle(_ event: PipelineEvent) {
        switch event {
        case let .runStarted(runID, pipeline, stages):
            self.runID = runID
            onStart(runID)
            logger.info("run started", metadata: ["run": "\(runID)", "pipeline": "\(pipeline)", "stages": "\(stages.count)"])
        case let .stageFinished(id, status, attempt, seconds, error):
            var meta: Logger.Metadata = ["stage": "\(id)", "status": "\(status.rawValue)", "attempt": "\(attempt)",
                                         "seconds": "\(String(format: "%.2f", seconds))"]
            if let error { meta["error"] = "\(error)" }
            if status == .failed {
                logger.warning("stage failed", metadata: meta)
            } else {
                logger.debug("stage finished", metadata: meta)
            }
        case let .stageRetrying(id, attempt, delay, error):
            // The failed attempt's reason (its first line) and log, so the line explains itself.
            var meta: Logger.Metadata = ["stage": "\(id)", "attempt": "\(attempt)", "delay": "\(delay)",
                                         "reason": "\(error.split(separator: "\n", omittingEmptySubsequences: true).first ?? "")"]
            if let runID { meta["log"] = "data/logs/\(runID)/\(id).\(attempt - 1).log" }
            logger.info("stage retrying", metadata: meta)
        case let .notice(text):
            logger.info("\(text)")
        case let .runFinished(summary):
            var meta: Logger.Metadata = [
                "run": "\(summary.runID)", "pipeline": "\(summary.pipeline)", "status": "\(summary.status.rawValue)",
                "ran": "\(summary.count(.succeeded))", "cached": "\(summary.count(.cached))",
                "seconds": "\(String(format: "%.2f", summary.seconds))",
            ]
            if let error = summary.error { meta["error"] = "\(error)" }
            logger.log(level: summary.status == .succeeded ? .info : .warning, "run finished", metadata: meta)
        case .stageStarted, .progress:
            break
        }
    }
}
