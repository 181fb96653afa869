import Foundation
import SiraStore

/// The store recorder, except that the run created while a tick is armed claims that tick in the
/// same transaction (`RunStore.createRunForTick`): either the tick is recorded as fired together
/// with its run, or neither exists, so a crash between the two can neither lose a tick nor leave one
/// claimed without a run. Runs are created one at a time by the daemon's single run worker.
public final class TickClaimingRecorder: RunRecorder, @unchecked Sendable {
    public let base: StoreRecorder
    private let lock = NSLock()
    private var armed: DueTick?
    private var lastCreated: Int64?

    public init(base: StoreRecorder) {
        self.base = base
    }

    public var store: RunStore { base.store }

    /// The next `createRun` claims `tick` (or fails with `TickAlreadyFired`).
    public func arm(_ tick: DueTick?) {
        lock.withLock { armed = tick }
    }

    /// The id of the run most recently created through this recorder.
    public var lastCreatedRun: Int64? { lock.withLock { lastCreated } }

    public func createRun(pipeline: String, manifestHash: String, trigger: String) throws -> Int64 {
        let tick = lock.withLock { () -> DueTick? in
            defer { armed = nil }
            return armed
        }
        let id: Int64
        if let tick {
            guard let claimed = try base.store.createRunForTick(
                pipeline: tick.pipeline, tickTime: tick.tickTime, manifestHash: manifestHash,
                trigger: trigger, status: .running
            ) else { throw TickAlreadyFired(tick: tick) }
            id = claimed
        } else {
            id = try base.createRun(pipeline: pipeline, manifestHash: manifestHash, trigger: trigger)
        }
        lock.withLock { lastCreated = id }
        return id
    }

    public func markCrashedRuns() throws -> [Int64] { try base.markCrashedRuns() }
    public func heartbeat(run: Int64) throws { try base.heartbeat(run: run) }
    public func finishRun(_ run: Int64, status: RunStatus, error: String?) throws { try base.finishRun(run, status: status, error: error) }
    public func recordParams(run: Int64, _ params: [String: String]) throws { try base.recordParams(run: run, params) }
    public func startStage(run: Int64, _ stage: StageRecord) throws -> Int64 { try base.startStage(run: run, stage) }
    public func finishStage(_ stageRun: Int64, status: StageStatus, cacheKey: String?, error: String?) throws {
        try base.finishStage(stageRun, status: status, cacheKey: cacheKey, error: error)
    }
    public func recordStage(run: Int64, _ stage: StageRecord, status: StageStatus, error: String?) throws {
        try base.recordStage(run: run, stage, status: status, error: error)
    }
    public func recordMetrics(run: Int64, stageRun: Int64?, stage: StageID, _ samples: [MetricSample]) throws {
        try base.recordMetrics(run: run, stageRun: stageRun, stage: stage, samples)
    }
    public func recordArtifacts(run: Int64, stageRun: Int64?, _ artifacts: [ArtifactInfo]) throws {
        try base.recordArtifacts(run: run, stageRun: stageRun, artifacts)
    }
    public func recordExternalID(_ stageRun: Int64, _ id: String) throws { try base.recordExternalID(stageRun, id) }
    public func recordEvent(run: Int64?, level: String, _ message: String) throws {
        try base.recordEvent(run: run, level: level, message)
    }
    public func recordDataset(task: String, sha256: String, path: String, records: Int) throws {
        try base.recordDataset(task: task, sha256: sha256, path: path, records: records)
    }
}

/// The tick a run was about to claim had already fired (another scheduler got it first).
public struct TickAlreadyFired: Error, CustomStringConvertible {
    public var tick: DueTick
    public var description: String { "tick \(tick) has already fired" }
}
