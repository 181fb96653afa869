import Foundation
import SiraStore

/// A `RunRecorder` that keeps everything in memory: for tests, and for executions whose
/// recording happens elsewhere (a Slurm job reports to the submitting process, which alone
/// writes SQLite).
public final class MemoryRecorder: RunRecorder, @unchecked Sendable {
    public struct Run: Sendable {
        public var id: Int64
        public var pipeline: String
        public var trigger: String
        public var status: RunStatus
        public var heartbeats = 0
        public var error: String?
    }

    public struct StageRow: Sendable {
        public var id: Int64
        public var run: Int64
        public var record: StageRecord
        public var status: StageStatus
        public var cacheKey: String?
        public var error: String?
    }

    private let lock = NSLock()
    private var _runs: [Run] = []
    private var _stages: [StageRow] = []
    private var _metrics: [(stage: StageID, sample: MetricSample)] = []
    private var _artifacts: [ArtifactInfo] = []
    private var _events: [String] = []
    private var _params: [String: String] = [:]
    private var _datasets: Set<String> = []

    public init() {}

    public var runs: [Run] { lock.withLock { _runs } }
    public var stages: [StageRow] { lock.withLock { _stages } }
    public var metrics: [(stage: StageID, sample: MetricSample)] { lock.withLock { _metrics } }
    public var artifacts: [ArtifactInfo] { lock.withLock { _artifacts } }
    public var events: [String] { lock.withLock { _events } }
    public var params: [String: String] { lock.withLock { _params } }

    public func markCrashedRuns() throws -> [Int64] {
        lock.withLock {
            var ids: [Int64] = []
            for i in _runs.indices where _runs[i].status == .running {
                _runs[i].status = .crashed
                ids.append(_runs[i].id)
            }
            return ids
        }
    }

    public func createRun(pipeline: String, manifestHash: String, trigger: String) throws -> Int64 {
        lock.withLock {
            let id = Int64(_runs.count + 1)
            _runs.append(Run(id: id, pipeline: pipeline, trigger: trigger, status: .running))
            return id
        }
    }

    public func heartbeat(run: Int64) throws {
        lock.withLock { _runs[Int(run - 1)].heartbeats += 1 }
    }

    public func finishRun(_ run: Int64, status: RunStatus, error: String?) throws {
        lock.withLock {
            _runs[Int(run - 1)].status = status
            _runs[Int(run - 1)].error = error
        }
    }

    public func recordParams(run: Int64, _ params: [String: String]) throws {
        lock.withLock { _params.merge(params) { $1 } }
    }

    public func startStage(run: Int64, _ stage: StageRecord) throws -> Int64 {
        lock.withLock {
            let id = Int64(_stages.count + 1)
            _stages.append(StageRow(id: id, run: run, record: stage, status: .running))
            return id
        }
    }

    public func finishStage(_ stageRun: Int64, status: StageStatus, cacheKey: String?, error: String?) throws {
        lock.withLock {
            _stages[Int(stageRun - 1)].status = status
            _stages[Int(stageRun - 1)].cacheKey = cacheKey
            _stages[Int(stageRun - 1)].error = error
        }
    }

    public func recordStage(run: Int64, _ stage: StageRecord, status: StageStatus, error: String?) throws {
        lock.withLock {
            _stages.append(StageRow(id: Int64(_stages.count + 1), run: run, record: stage, status: status, error: error))
        }
    }

    public func recordMetrics(run: Int64, stageRun: Int64?, stage: StageID, _ samples: [MetricSample]) throws {
        lock.withLock { _metrics += samples.map { (stage, $0) } }
    }

    public func recordArtifacts(run: Int64, stageRun: Int64?, _ artifacts: [ArtifactInfo]) throws {
        lock.withLock { _artifacts += artifacts }
    }

    public func recordExternalID(_ stageRun: Int64, _ id: String) throws {
        lock.withLock { _stages[Int(stageRun - 1)].record.externalID = id }
    }

    public func recordEvent(run: Int64?, level: String, _ message: String) throws {
        lock.withLock { _events.append("\(level): \(message)") }
    }

    public func recordDataset(task: String, sha256: String, path: String, records: Int) throws {
        _ = lock.withLock { _datasets.insert("\(task)/\(sha256)") }
    }

    /// `task/sha256` of every dataset recorded.
    public var datasets: Set<String> { lock.withLock { _datasets } }
}
