import Foundation
import SiraStore

/// Records runs in the workspace's SQLite database (`data/runs.sqlite`) through SiraStore.
public final class StoreRecorder: RunRecorder, @unchecked Sendable {
    public let store: RunStore

    public init(store: RunStore) {
        self.store = store
    }

    public convenience init(workspace: Workspace) throws {
        try self.init(store: RunStore(path: workspace.databaseURL.path))
    }

    /// With the workspace lock held no live scheduler exists, so every live run is dead whatever
    /// its heartbeat says.
    public func markCrashedRuns() throws -> [Int64] {
        try store.markCrashedRuns(staleAfter: 0, isAlive: { _ in false }).map(\.id)
    }

    public func createRun(pipeline: String, manifestHash: String, trigger: String) throws -> Int64 {
        try store.createRun(pipeline: pipeline, manifestHash: manifestHash, trigger: trigger, status: .running)
    }

    public func heartbeat(run: Int64) throws {
        try store.heartbeat(run)
    }

    public func finishRun(_ run: Int64, status: RunStatus, error: String?) throws {
        try store.setRunStatus(run, status, error: error)
    }

    public func recordParams(run: Int64, _ params: [String: String]) throws {
        try store.recordParams(run: run, params)
    }

    public func startStage(run: Int64, _ stage: StageRecord) throws -> Int64 {
        try store.startStage(run: run, spec(stage))
    }

    public func finishStage(_ stageRun: Int64, status: StageStatus, cacheKey: String?, error: String?) throws {
        try store.updateStage(stageRun, status: status, error: error, cacheKey: cacheKey)
    }

    public func recordStage(run: Int64, _ stage: StageRecord, status: StageStatus, error: String?) throws {
        try store.recordStage(run: run, spec(stage), status: status, error: error)
    }

    public func recordMetrics(run: Int64, stageRun: Int64?, stage: StageID, _ samples: [MetricSample]) throws {
        try store.recordMetrics(samples.map {
            MetricPoint(runID: run, stageRunID: stageRun, task: stage.task, variant: stage.variant,
                        key: $0.key, value: $0.value, step: $0.step, time: $0.time)
        })
    }

    public func recordArtifacts(run: Int64, stageRun: Int64?, _ artifacts: [ArtifactInfo]) throws {
        try store.recordArtifacts(artifacts.map {
            ArtifactRecord(runID: run, stageRunID: stageRun, path: $0.path, sha256: $0.sha256, bytes: $0.bytes, kind: $0.kind)
        })
    }

    public func recordExternalID(_ stageRun: Int64, _ id: String) throws {
        try store.updateStage(stageRun, status: .running, externalID: id)
    }

    public func recordEvent(run: Int64?, level: String, _ message: String) throws {
        try store.recordEvent(run: run, level: EventLevel(rawValue: level) ?? .info, message)
    }

    public func recordDataset(task: String, sha256: String, path: String, records: Int) throws {
        _ = try store.recordDataset(DatasetRecord(task: task, sha256: sha256, path: path, records: records))
    }

    private func spec(_ s: StageRecord) -> StageSpec {
        StageSpec(stage: s.stage.description, kind: s.stage.kind.rawValue, task: s.stage.task, variant: s.stage.variant,
                  attempt: s.attempt, executor: s.executor, externalID: s.externalID, logPath: s.logPath)
    }
}
