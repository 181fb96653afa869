import Foundation
import SiraStore

/// Live progress of one stage (for the display; `loss` also becomes a metric series).
public struct StageProgress: Sendable, Equatable {
    public var stage: StageID
    public var step: Int
    public var total: Int
    public var loss: Double?
    public var tokensPerSecond: Double?
    public var note: String?
}

/// What the scheduler tells observers (the CLI's progress display, the watcher). Delivered on
/// the scheduler's or a worker's thread; observers must be thread-safe and quick.
public enum PipelineEvent: Sendable {
    case runStarted(runID: Int64, pipeline: String, stages: [StageID])
    case stageStarted(StageID, attempt: Int)
    /// A stage reached its final status in this run.
    case stageFinished(StageID, status: StageStatus, attempt: Int, seconds: Double, error: String?)
    /// An attempt failed and attempt `attempt` follows after `delay` seconds.
    case stageRetrying(StageID, attempt: Int, delay: Double, error: String)
    case progress(StageProgress)
    case notice(String)
    case runFinished(RunSummary)
}

public protocol PipelineObserver: AnyObject, Sendable {
    func handle(_ event: PipelineEvent)
}
