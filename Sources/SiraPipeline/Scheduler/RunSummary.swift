import Foundation
import SiraStore

/// The outcome of one run: every stage's final status, attempts, time and metrics.
public struct RunSummary: Sendable {
    public struct Stage: Sendable {
        public var id: StageID
        public var status: StageStatus
        public var attempts: Int
        public var seconds: Double
        public var key: String?
        public var error: String?
        /// Final metrics from the stage's output (also for cached stages).
        public var metrics: [String: Double]
        public var output: StageOutput?
    }

    public var runID: Int64
    public var pipeline: String
    public var status: RunStatus
    public var stages: [Stage]
    public var seconds: Double
    public var error: String?

    public func stage(_ id: StageID) -> Stage? { stages.first { $0.id == id } }

    public func count(_ status: StageStatus) -> Int { stages.filter { $0.status == status }.count }
}
