import Foundation
import SiraStore

/// Where the scheduler records runs (DESIGN.md §3 "every stage: a row in SQLite"). The store
/// implementation writes SQLite through SiraStore; tests use an in-memory one. Methods are
/// called from several threads.
public protocol RunRecorder: AnyObject, Sendable {
    /// Marks runs left `running` by a dead process as `crashed`. Called with the workspace lock
    /// held, so no live scheduler owns any of them. Returns their ids.
    func markCrashedRuns() throws -> [Int64]
    func createRun(pipeline: String, manifestHash: String, trigger: String) throws -> Int64
    func heartbeat(run: Int64) throws
    func finishRun(_ run: Int64, status: RunStatus, error: String?) throws
    func recordParams(run: Int64, _ params: [String: String]) throws
    /// A stage attempt starts (status `running`).
    func startStage(run: Int64, _ stage: StageRecord) throws -> Int64
    /// A started attempt ends; `cacheKey` is known only once the attempt has hashed its inputs.
    func finishStage(_ stageRun: Int64, status: StageStatus, cacheKey: String?, error: String?) throws
    /// A stage that never started in this run (`skipped`, `cancelled`), recorded in one go.
    func recordStage(run: Int64, _ stage: StageRecord, status: StageStatus, error: String?) throws
    func recordMetrics(run: Int64, stageRun: Int64?, stage: StageID, _ samples: [MetricSample]) throws
    func recordArtifacts(run: Int64, stageRun: Int64?, _ artifacts: [ArtifactInfo]) throws
    func recordEvent(run: Int64?, level: String, _ message: String) throws
    /// The executor's id for a live attempt (a Slurm job `123_4`), known once it was launched.
    func recordExternalID(_ stageRun: Int64, _ id: String) throws
    /// A dataset snapshot an ingest stage produced or reused (idempotent by task and hash).
    func recordDataset(task: String, sha256: String, path: String, records: Int) throws
}

/// The identity of a stage attempt as recorded.
public struct StageRecord: Sendable, Equatable {
    public var stage: StageID
    public var attempt: Int
    public var executor: String
    public var externalID: String?
    public var logPath: String?

    public init(stage: StageID, attempt: Int, executor: String, externalID: String? = nil, logPath: String? = nil) {
        self.stage = stage
        self.attempt = attempt
        self.executor = executor
        self.externalID = externalID
        self.logPath = logPath
    }
}

/// A file a stage produced, as recorded.
public struct ArtifactInfo: Sendable, Equatable {
    public var path: String
    public var sha256: String
    public var bytes: Int64
    public var kind: String
}
