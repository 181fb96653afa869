import Foundation
import GRDB

/// Schedule ticks: each due time of a pipeline's schedule fires at most once, whoever asks.
extension RunStore {
    /// Claims the tick `tickTime` (whole Unix seconds) of `pipeline`. Returns true when this call
    /// inserted it (the caller fires), false when it was already claimed (insert-or-ignore: two
    /// schedulers racing on the same tick get exactly one true between them).
    public func claimTick(pipeline: String, tickTime: Int64, runID: RunID? = nil, now: Date = Date()) throws -> Bool {
        try pool.write { db in
            try Self.insertTick(db, pipeline: pipeline, tickTime: tickTime, runID: runID, now: now)
        }
    }

    static func insertTick(_ db: Database, pipeline: String, tickTime: Int64, runID: RunID?, now: Date) throws -> Bool {
        try db.execute(sql: """
            INSERT OR IGNORE INTO schedule_ticks (pipeline, tick_time, fired_at, run_id) VALUES (?, ?, ?, ?)
            """, arguments: [pipeline, tickTime, now.unixSeconds, runID])
        return db.changesCount > 0
    }

    /// Claims the tick and creates its run in one transaction: either both exist afterwards or
    /// neither does. Returns the new run's id, or nil when the tick had already fired.
    public func createRunForTick(pipeline: String, tickTime: Int64, manifestHash: String, trigger: String = "schedule",
                                 status: RunStatus = .queued, host: String = RunStore.currentHost,
                                 pid: Int32 = getpid(), now: Date = Date()) throws -> RunID? {
        try pool.write { db in
            guard try Self.insertTick(db, pipeline: pipeline, tickTime: tickTime, runID: nil, now: now) else { return nil }
            let run = try Self.insertRun(db, pipeline: pipeline, manifestHash: manifestHash, trigger: trigger,
                                         status: status, host: host, pid: pid, now: now)
            try db.execute(sql: "UPDATE schedule_ticks SET run_id = ? WHERE pipeline = ? AND tick_time = ?",
                           arguments: [run, pipeline, tickTime])
            return run
        }
    }

    /// Attaches the run a claimed tick started.
    public func setTickRun(pipeline: String, tickTime: Int64, runID: RunID) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE schedule_ticks SET run_id = ? WHERE pipeline = ? AND tick_time = ?",
                           arguments: [runID, pipeline, tickTime])
        }
    }

    /// The claimed tick at `tickTime`, or nil if it has not fired.
    public func tick(pipeline: String, tickTime: Int64) throws -> ScheduleTick? {
        try pool.read { db in
            try ScheduleTick.fetchOne(db, sql: "SELECT * FROM schedule_ticks WHERE pipeline = ? AND tick_time = ?",
                                      arguments: [pipeline, tickTime])
        }
    }

    /// The latest fired tick of `pipeline` (by due time): where a catch-up policy starts counting.
    public func lastTick(pipeline: String) throws -> ScheduleTick? {
        try pool.read { db in
            try ScheduleTick.fetchOne(db, sql: """
                SELECT * FROM schedule_ticks WHERE pipeline = ? ORDER BY tick_time DESC LIMIT 1
                """, arguments: [pipeline])
        }
    }
}
