import Foundation
import GRDB

/// What runs observe: parameters, metrics, artifacts, events, dataset snapshots.
extension RunStore {
    /// Stores resolved parameters at run scope (`stageRun == nil`) or stage scope; a key already
    /// stored in the same scope is replaced. One transaction.
    public func recordParams(run: RunID, stageRun: StageRunID? = nil, _ params: [String: String]) throws {
        try pool.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO params (run_id, stage_run_id, key, value) VALUES (?, ?, ?, ?)
                """)
            for key in params.keys.sorted() {
                try statement.execute(arguments: [run, stageRun, key, params[key]])
            }
        }
    }

    /// Parameters of a run: run scope first, then each stage attempt's, keys sorted.
    public func params(run: RunID) throws -> [ParamRecord] {
        try pool.read { db in
            try ParamRecord.fetchAll(db, sql: """
                SELECT * FROM params WHERE run_id = ? ORDER BY ifnull(stage_run_id, 0), key
                """, arguments: [run])
        }
    }

    /// Appends metric points in one transaction (a training loop batches its per-step values).
    /// ±inf are stored as such; NaN (a diverged loss) is stored as NULL and read back as NaN.
    public func recordMetrics(_ points: [MetricPoint]) throws {
        guard !points.isEmpty else { return }
        try pool.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO metrics (run_id, stage_run_id, task, variant, key, value, step, time)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for p in points {
                try statement.execute(arguments: [p.runID, p.stageRunID, p.task, p.variant, p.key, p.value.isNaN ? nil : p.value, p.step,
                                                  p.time.unixSeconds])
            }
        }
    }

    /// The series of `key` in a run, ordered by step (stepless points last) then time. `task` and
    /// `variant` narrow it when given.
    public func metricSeries(run: RunID, key: String, task: String? = nil, variant: String? = nil) throws -> [MetricPoint] {
        try pool.read { db in
            var sql = "SELECT * FROM metrics WHERE run_id = ? AND key = ?"
            var arguments: StatementArguments = [run, key]
            if let task { sql += " AND task = ?"; arguments += [task] }
            if let variant { sql += " AND variant = ?"; arguments += [variant] }
            sql += " ORDER BY task, variant, step IS NULL, step, time, id"
            return try MetricPoint.fetchAll(db, sql: sql, arguments: arguments)
        }
    }

    /// Every metric point of a run, in insertion order.
    public func metrics(run: RunID) throws -> [MetricPoint] {
        try pool.read { db in
            try MetricPoint.fetchAll(db, sql: "SELECT * FROM metrics WHERE run_id = ? ORDER BY id", arguments: [run])
        }
    }

    /// Records files a stage produced, in one transaction.
    public func recordArtifacts(_ artifacts: [ArtifactRecord]) throws {
        guard !artifacts.isEmpty else { return }
        try pool.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO artifacts (run_id, stage_run_id, path, sha256, bytes, kind, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for a in artifacts {
                try statement.execute(arguments: [a.runID, a.stageRunID, a.path, a.sha256, a.bytes, a.kind,
                                                  a.createdAt.unixSeconds])
            }
        }
    }

    /// Artifacts of a run, in the order recorded.
    public func artifacts(run: RunID) throws -> [ArtifactRecord] {
        try pool.read { db in
            try ArtifactRecord.fetchAll(db, sql: "SELECT * FROM artifacts WHERE run_id = ? ORDER BY id", arguments: [run])
        }
    }

    /// Artifacts one stage attempt produced (what a cache hit on it reuses).
    public func artifacts(stageRun: StageRunID) throws -> [ArtifactRecord] {
        try pool.read { db in
            try ArtifactRecord.fetchAll(db, sql: "SELECT * FROM artifacts WHERE stage_run_id = ? ORDER BY id",
                                        arguments: [stageRun])
        }
    }

    /// Appends an event to a run's log (or to the workspace log when `run` is nil).
    public func recordEvent(run: RunID?, level: EventLevel, _ message: String, now: Date = Date()) throws {
        try pool.write { db in
            try Self.insertEvent(db, run: run, level: level, message: message, now: now)
        }
    }

    static func insertEvent(_ db: Database, run: RunID?, level: EventLevel, message: String, now: Date) throws {
        try db.execute(sql: "INSERT INTO events (time, run_id, level, message) VALUES (?, ?, ?, ?)",
                       arguments: [now.unixSeconds, run, level.rawValue, message])
    }

    /// A run's events in time order (`run == nil`: workspace events).
    public func events(run: RunID?) throws -> [EventRecord] {
        try pool.read { db in
            if let run {
                return try EventRecord.fetchAll(db, sql: "SELECT * FROM events WHERE run_id = ? ORDER BY time, id",
                                                arguments: [run])
            }
            return try EventRecord.fetchAll(db, sql: "SELECT * FROM events WHERE run_id IS NULL ORDER BY time, id")
        }
    }

    /// Records an ingested dataset snapshot. Returns false when the same (task, sha256) is already
    /// known: the content was ingested before and the existing row is kept.
    @discardableResult
    public func recordDataset(_ dataset: DatasetRecord) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO datasets (task, sha256, path, records, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [dataset.task, dataset.sha256, dataset.path, dataset.records,
                                 dataset.createdAt.unixSeconds])
            return db.changesCount > 0
        }
    }

    /// The snapshot of `task` with this content hash, if ingested.
    public func dataset(task: String, sha256: String) throws -> DatasetRecord? {
        try pool.read { db in
            try DatasetRecord.fetchOne(db, sql: "SELECT * FROM datasets WHERE task = ? AND sha256 = ?",
                                       arguments: [task, sha256])
        }
    }

    /// All snapshots (of one task when given), newest first.
    public func datasets(task: String? = nil) throws -> [DatasetRecord] {
        try pool.read { db in
            if let task {
                return try DatasetRecord.fetchAll(db, sql: """
                    SELECT * FROM datasets WHERE task = ? ORDER BY created_at DESC, id DESC
                    """, arguments: [task])
            }
            return try DatasetRecord.fetchAll(db, sql: "SELECT * FROM datasets ORDER BY created_at DESC, id DESC")
        }
    }
}
