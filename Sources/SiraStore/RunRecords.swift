import Foundation
import GRDB

public typealias RunID = Int64
public typealias StageRunID = Int64

/// A row of `runs`.
public struct RunRecord: Codable, Sendable, Equatable {
    public var id: RunID
    public var pipeline: String
    public var manifestHash: String
    public var trigger: String
    public var status: RunStatus
    public var host: String
    public var pid: Int32
    public var heartbeat: Date?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var error: String?

    /// Wall time from start to finish (or to `now` while live); nil before it started.
    public func duration(now: Date = Date()) -> TimeInterval? {
        guard let startedAt else { return nil }
        return (finishedAt ?? now).timeIntervalSince(startedAt)
    }
}

/// A row of `stage_runs`: one attempt of one stage of a run.
public struct StageRunRecord: Codable, Sendable, Equatable {
    public var id: StageRunID
    public var runID: RunID
    public var stage: String
    public var kind: String
    public var task: String?
    public var variant: String?
    public var attempt: Int
    public var cacheKey: String?
    public var status: StageStatus
    public var executor: String
    public var externalID: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Seconds.
    public var duration: Double?
    public var logPath: String?
    public var error: String?
}

/// What a stage attempt is, given when it starts.
public struct StageSpec: Sendable, Equatable {
    public var stage: String
    public var kind: String
    public var task: String?
    public var variant: String?
    public var attempt: Int
    public var cacheKey: String?
    public var executor: String
    public var externalID: String?
    public var logPath: String?

    public init(stage: String, kind: String, task: String? = nil, variant: String? = nil, attempt: Int = 1,
                cacheKey: String? = nil, executor: String = "local", externalID: String? = nil, logPath: String? = nil) {
        self.stage = stage
        self.kind = kind
        self.task = task
        self.variant = variant
        self.attempt = attempt
        self.cacheKey = cacheKey
        self.executor = executor
        self.externalID = externalID
        self.logPath = logPath
    }
}

/// A row of `params`. `stageRunID == nil` is run scope.
public struct ParamRecord: Codable, Sendable, Equatable {
    public var runID: RunID
    public var stageRunID: StageRunID?
    public var key: String
    public var value: String
}

/// One metric observation. `step` is nil for a final (stepless) value such as an evaluation score.
public struct MetricPoint: Codable, Sendable, Equatable {
    public var runID: RunID
    public var stageRunID: StageRunID?
    public var task: String?
    public var variant: String?
    public var key: String
    public var value: Double
    public var step: Int?
    public var time: Date

    public init(runID: RunID, stageRunID: StageRunID? = nil, task: String? = nil, variant: String? = nil,
                key: String, value: Double, step: Int? = nil, time: Date = Date()) {
        self.runID = runID
        self.stageRunID = stageRunID
        self.task = task
        self.variant = variant
        self.key = key
        self.value = value
        self.step = step
        self.time = time
    }
}

/// A row of `artifacts`: a file a stage produced.
public struct ArtifactRecord: Codable, Sendable, Equatable {
    public var runID: RunID
    public var stageRunID: StageRunID?
    public var path: String
    public var sha256: String
    public var bytes: Int64
    public var kind: String
    public var createdAt: Date

    public init(runID: RunID, stageRunID: StageRunID? = nil, path: String, sha256: String, bytes: Int64,
                kind: String, createdAt: Date = Date()) {
        self.runID = runID
        self.stageRunID = stageRunID
        self.path = path
        self.sha256 = sha256
        self.bytes = bytes
        self.kind = kind
        self.createdAt = createdAt
    }
}

/// A row of `datasets`: an ingested snapshot of a task's data.
public struct DatasetRecord: Codable, Sendable, Equatable {
    public var task: String
    public var sha256: String
    public var path: String
    public var records: Int
    public var createdAt: Date

    public init(task: String, sha256: String, path: String, records: Int, createdAt: Date = Date()) {
        self.task = task
        self.sha256 = sha256
        self.path = path
        self.records = records
        self.createdAt = createdAt
    }
}

/// A row of `schedule_ticks`: a due time of a pipeline's schedule that has fired.
public struct ScheduleTick: Codable, Sendable, Equatable {
    public var pipeline: String
    /// The due time, whole Unix seconds.
    public var tickTime: Int64
    public var firedAt: Date
    public var runID: RunID?
}

/// A row of `events`.
public struct EventRecord: Codable, Sendable, Equatable {
    public var time: Date
    public var runID: RunID?
    public var level: EventLevel
    public var message: String
}

/// Everything recorded about one run, for `show` and `compare`.
public struct RunDetail: Codable, Sendable, Equatable {
    public var run: RunRecord
    /// Every attempt, in start order.
    public var stages: [StageRunRecord]
    public var params: [ParamRecord]
    /// For each (task, variant, key) the point with the highest step (latest time among equals).
    public var finalMetrics: [MetricPoint]
    public var artifacts: [ArtifactRecord]
    public var events: [EventRecord]
}

// MARK: - Row decoding

/// A stored value the Swift types cannot represent (an unknown status word, for example).
public struct StoreDecodingError: Error, CustomStringConvertible {
    public var table: String
    public var column: String
    public var value: String
    public var description: String { "runs.sqlite: \(table).\(column): unexpected value '\(value)'" }
}

extension Date {
    init(unixSeconds: Double) { self.init(timeIntervalSince1970: unixSeconds) }
    var unixSeconds: Double { timeIntervalSince1970 }
}

private func date(_ row: Row, _ column: String) -> Date? {
    (row[column] as Double?).map(Date.init(unixSeconds:))
}

private func decodeStatus<S: RawRepresentable<String>>(_ row: Row, _ table: String, _ column: String) throws -> S {
    let word: String = row[column]
    guard let status = S(rawValue: word) else { throw StoreDecodingError(table: table, column: column, value: word) }
    return status
}

extension RunRecord: FetchableRecord {
    public init(row: Row) throws {
        id = row["id"]
        pipeline = row["pipeline"]
        manifestHash = row["manifest_hash"]
        trigger = row["trigger"]
        status = try decodeStatus(row, "runs", "status")
        host = row["host"]
        pid = row["pid"]
        heartbeat = date(row, "heartbeat")
        createdAt = Date(unixSeconds: row["created_at"])
        startedAt = date(row, "started_at")
        finishedAt = date(row, "finished_at")
        error = row["error"]
    }
}

extension StageRunRecord: FetchableRecord {
    public init(row: Row) throws {
        id = row["id"]
        runID = row["run_id"]
        stage = row["stage"]
        kind = row["kind"]
        task = row["task"]
        variant = row["variant"]
        attempt = row["attempt"]
        cacheKey = row["cache_key"]
        status = try decodeStatus(row, "stage_runs", "status")
        executor = row["executor"]
        externalID = row["external_id"]
        startedAt = date(row, "started_at")
        finishedAt = date(row, "finished_at")
        duration = row["duration"]
        logPath = row["log_path"]
        error = row["error"]
    }
}

extension ParamRecord: FetchableRecord {
    public init(row: Row) throws {
        runID = row["run_id"]
        stageRunID = row["stage_run_id"]
        key = row["key"]
        value = row["value"]
    }
}

extension MetricPoint: FetchableRecord {
    public init(row: Row) throws {
        runID = row["run_id"]
        stageRunID = row["stage_run_id"]
        task = row["task"]
        variant = row["variant"]
        key = row["key"]
        value = (row["value"] as Double?) ?? .nan
        step = row["step"]
        time = Date(unixSeconds: row["time"])
    }
}

extension ArtifactRecord: FetchableRecord {
    public init(row: Row) throws {
        runID = row["run_id"]
        stageRunID = row["stage_run_id"]
        path = row["path"]
        sha256 = row["sha256"]
        bytes = row["bytes"]
        kind = row["kind"]
        createdAt = Date(unixSeconds: row["created_at"])
    }
}

extension DatasetRecord: FetchableRecord {
    public init(row: Row) throws {
        task = row["task"]
        sha256 = row["sha256"]
        path = row["path"]
        records = row["records"]
        createdAt = Date(unixSeconds: row["created_at"])
    }
}

extension ScheduleTick: FetchableRecord {
    public init(row: Row) throws {
        pipeline = row["pipeline"]
        tickTime = row["tick_time"]
        firedAt = Date(unixSeconds: row["fired_at"])
        runID = row["run_id"]
    }
}

extension EventRecord: FetchableRecord {
    public init(row: Row) throws {
        time = Date(unixSeconds: row["time"])
        runID = row["run_id"]
        level = try decodeStatus(row, "events", "level")
        message = row["message"]
    }
}
