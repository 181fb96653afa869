import Foundation
import GRDB

/// Stage attempts and the cache lookup.
extension RunStore {
    /// Records the start of a stage attempt and returns its id. `status` is `.running` for a stage
    /// that starts now (stamps `started_at`) or `.queued` for one handed to an executor that will
    /// start it later (a submitted Slurm job).
    public func startStage(run: RunID, _ spec: StageSpec, status: StageStatus = .running,
                           now: Date = Date()) throws -> StageRunID {
        precondition(!status.isFinal, "startStage takes a live status; use recordStage for final ones")
        return try pool.write { db in
            try Self.insertStage(db, run: run, spec, status: status, error: nil, now: now)
        }
    }

    /// Records a stage attempt that is final from the start: `.cached` (an earlier stage run with
    /// `spec.cacheKey` produced the outputs), `.skipped` (a dependency failed; `error` says which),
    /// or `.cancelled`. Duration 0.
    @discardableResult
    public func recordStage(run: RunID, _ spec: StageSpec, status: StageStatus, error: String? = nil,
                            now: Date = Date()) throws -> StageRunID {
        precondition(status.isFinal, "recordStage takes a final status; use startStage for live ones")
        return try pool.write { db in
            try Self.insertStage(db, run: run, spec, status: status, error: error, now: now)
        }
    }

    static func insertStage(_ db: Database, run: RunID, _ spec: StageSpec, status: StageStatus, error: String?,
                            now: Date) throws -> StageRunID {
        let t = now.unixSeconds
        try db.execute(sql: """
            INSERT INTO stage_runs (run_id, stage, kind, task, variant, attempt, cache_key, status, executor,
                                    external_id, started_at, finished_at, duration, log_path, error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [run, spec.stage, spec.kind, spec.task, spec.variant, spec.attempt, spec.cacheKey,
                             status.rawValue, spec.executor, spec.externalID,
                             status == .queued ? nil : t, status.isFinal ? t : nil, status.isFinal ? 0.0 : nil,
                             spec.logPath, error])
        return db.lastInsertedRowID
    }

    /// Moves a live stage attempt on: to `.running` (stamps `started_at` if unset, for a queued
    /// executor job that began) or to a final status (stamps `finished_at` and `duration`, stores
    /// `error`). `externalID` and `cacheKey`, when given, are stored too (a cache key computed only
    /// once the inputs were hashed). Returns false, changing nothing, when the attempt is already final.
    @discardableResult
    public func updateStage(_ id: StageRunID, status: StageStatus, error: String? = nil, externalID: String? = nil,
                            cacheKey: String? = nil, now: Date = Date()) throws -> Bool {
        try pool.write { db in
            let t = now.unixSeconds
            try db.execute(sql: """
                UPDATE stage_runs SET status = ?,
                    started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END,
                    finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
                    duration = CASE WHEN ? THEN ? - coalesce(started_at, ?) ELSE duration END,
                    error = coalesce(?, error),
                    external_id = coalesce(?, external_id),
                    cache_key = coalesce(?, cache_key)
                WHERE id = ? AND status IN ('queued', 'running')
                """, arguments: [status.rawValue, status != .queued, t, status.isFinal, t, status.isFinal, t, t,
                                 error, externalID, cacheKey, id])
            guard db.changesCount > 0 else {
                guard try Int.fetchOne(db, sql: "SELECT 1 FROM stage_runs WHERE id = ?", arguments: [id]) != nil else {
                    throw RunStoreError.noSuchStageRun(id)
                }
                return false
            }
            return true
        }
    }

    /// `updateStage` to a final status.
    @discardableResult
    public func finishStage(_ id: StageRunID, status: StageStatus, error: String? = nil,
                            now: Date = Date()) throws -> Bool {
        precondition(status.isFinal, "finishStage takes a final status")
        return try updateStage(id, status: status, error: error, now: now)
    }

    /// The most recent stage attempt that *produced* outputs under `cacheKey` (status `succeeded`,
    /// latest finish first), or nil. Cached rows are not returned: they point back to a producer.
    /// Whether the outputs still exist on disk is the caller's check (see `artifacts(stageRun:)`).
    public func lastSuccessfulStage(cacheKey: String) throws -> StageRunRecord? {
        try pool.read { db in
            try StageRunRecord.fetchOne(db, sql: """
                SELECT * FROM stage_runs WHERE cache_key = ? AND status = 'succeeded'
                ORDER BY finished_at DESC, id DESC LIMIT 1
                """, arguments: [cacheKey])
        }
    }

    /// One stage attempt by id.
    public func stageRun(_ id: StageRunID) throws -> StageRunRecord? {
        try pool.read { db in
            try StageRunRecord.fetchOne(db, sql: "SELECT * FROM stage_runs WHERE id = ?", arguments: [id])
        }
    }

    /// Every stage attempt of a run, in the order they were recorded.
    public func stages(run: RunID) throws -> [StageRunRecord] {
        try pool.read { db in
            try StageRunRecord.fetchAll(db, sql: "SELECT * FROM stage_runs WHERE run_id = ? ORDER BY id", arguments: [run])
        }
    }
}
