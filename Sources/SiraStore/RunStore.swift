#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GRDB

/// Run tracking over `data/runs.sqlite` (schema: `StoreSchema`).
///
/// Why a `DatabasePool`: WAL lets `runs`/`show` read while a scheduler writes, and the busy timeout
/// makes a second writer (another process, a Slurm callback) wait instead of failing. Every method
/// is one transaction, so a process killed at any instant leaves a consistent database; write
/// transactions are `BEGIN IMMEDIATE`, so two writers never deadlock on a read-to-write upgrade.
///
/// All methods are synchronous and thread-safe; `now` parameters exist so tests control time.
public final class RunStore: Sendable {
    /// The database file.
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// `busyTimeout`: how long a write waits for another process's transaction before failing.
    public init(path: String, busyTimeout: TimeInterval = 30) throws {
        self.path = path
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            // WAL + NORMAL: a crash never corrupts; a power loss may lose the last transactions.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try StoreSchema.migrator.migrate(pool)
    }

    /// Opens an existing database read-only (the web UI): no migration, no write, no lock held
    /// beyond a WAL read snapshot, so a running scheduler is never blocked. Throws when the file
    /// is missing or is not a run database.
    public init(readOnlyPath path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw RunStoreError.noDatabase(path)
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
    }

    /// The workspace's database, `<workspace>/data/runs.sqlite`.
    public convenience init(workspace: URL, busyTimeout: TimeInterval = 30) throws {
        try self.init(path: RunStore.databaseURL(workspace: workspace).path, busyTimeout: busyTimeout)
    }

    public static func databaseURL(workspace: URL) -> URL {
        workspace.appendingPathComponent("data/runs.sqlite")
    }

    /// This machine's name, as stored in `runs.host`.
    public static let currentHost: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    // MARK: - Runs

    /// Inserts a run and returns its id. `status` is usually `.queued` or `.running` (which also
    /// sets `started_at`); the heartbeat starts at `now`.
    public func createRun(pipeline: String, manifestHash: String, trigger: String, status: RunStatus = .queued,
                          host: String = RunStore.currentHost, pid: Int32 = getpid(), now: Date = Date()) throws -> RunID {
        try pool.write { db in
            try Self.insertRun(db, pipeline: pipeline, manifestHash: manifestHash, trigger: trigger,
                               status: status, host: host, pid: pid, now: now)
        }
    }

    static func insertRun(_ db: Database, pipeline: String, manifestHash: String, trigger: String, status: RunStatus,
                          host: String, pid: Int32, now: Date) throws -> RunID {
        let t = now.unixSeconds
        try db.execute(sql: """
            INSERT INTO runs (pipeline, manifest_hash, trigger, status, host, pid, heartbeat, created_at, started_at, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [pipeline, manifestHash, trigger, status.rawValue, host, pid, t, t,
                             status == .queued ? nil : t, status.isFinal ? t : nil])
        return db.lastInsertedRowID
    }

    /// Moves a live run to `status`. Going to `running` stamps `started_at`; a final status stamps
    /// `finished_at`, stores `error`, and ends the run's still-live stage attempts (as `crashed` when
    /// the run crashed, otherwise `cancelled`).
    ///
    /// Returns false, changing nothing, when the run is already final (for example a crash detector
    /// declared it crashed while this process was suspended): a final status is never rewritten.
    @discardableResult
    public func setRunStatus(_ id: RunID, _ status: RunStatus, error: String? = nil, now: Date = Date()) throws -> Bool {
        try pool.write { db in
            try Self.updateRunStatus(db, id, status, error: error, now: now)
        }
    }

    static func updateRunStatus(_ db: Database, _ id: RunID, _ status: RunStatus, error: String?, now: Date) throws -> Bool {
        let t = now.unixSeconds
        try db.execute(sql: """
            UPDATE runs SET status = ?,
                started_at = CASE WHEN ? AND started_at IS NULL THEN ? ELSE started_at END,
                finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
                error = coalesce(?, error),
                heartbeat = ?
            WHERE id = ? AND status IN ('queued', 'running')
            """, arguments: [status.rawValue, status != .queued, t, status.isFinal, t, error, t, id])
        guard db.changesCount > 0 else {
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [id]) != nil else {
                throw RunStoreError.noSuchRun(id)
            }
            return false
        }
        if status.isFinal {
            let stageStatus: StageStatus = status == .crashed ? .crashed : .cancelled
            try db.execute(sql: """
                UPDATE stage_runs SET status = ?, finished_at = ?, duration = ? - started_at,
                    error = coalesce(error, ?)
                WHERE run_id = ? AND status IN ('queued', 'running')
                """, arguments: [stageStatus.rawValue, t, t, "run ended as \(status.rawValue)", id])
        }
        return true
    }

    /// Refreshes a live run's heartbeat. Returns false when the run is no longer live (it was
    /// marked crashed or cancelled by someone else): the caller should stop.
    @discardableResult
    public func heartbeat(_ id: RunID, now: Date = Date()) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE runs SET heartbeat = ? WHERE id = ? AND status IN ('queued', 'running')",
                           arguments: [now.unixSeconds, id])
            return db.changesCount > 0
        }
    }

    /// Finds live runs (queued or running) whose process is gone and marks them `crashed`, together
    /// with their live stage attempts, with an event saying why. A run is gone when its heartbeat is
    /// older than `staleAfter` seconds, or when it ran on `host` (this machine) and `isAlive(pid)`
    /// is false. Returns the runs it marked, as they are now.
    @discardableResult
    public func markCrashedRuns(staleAfter: TimeInterval, host: String = RunStore.currentHost,
                                isAlive: (Int32) -> Bool = RunStore.processIsAlive,
                                now: Date = Date()) throws -> [RunRecord] {
        try pool.write { db in
            let live = try RunRecord.fetchAll(db, sql: "SELECT * FROM runs WHERE status IN ('queued', 'running') ORDER BY id")
            var crashed: [RunRecord] = []
            for run in live {
                let last = run.heartbeat ?? run.createdAt
                let reason: String
                if run.host == host, !isAlive(run.pid) {
                    reason = "process \(run.pid) on \(run.host) is gone"
                } else if now.timeIntervalSince(last) > staleAfter {
                    reason = String(format: "no heartbeat for %.0f s (limit %.0f s) from process %d on %@",
                                    now.timeIntervalSince(last), staleAfter, run.pid, run.host)
                } else {
                    continue
                }
                _ = try Self.updateRunStatus(db, run.id, .crashed, error: reason, now: now)
                try Self.insertEvent(db, run: run.id, level: .error, message: "marked crashed: \(reason)", now: now)
                if let updated = try RunRecord.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [run.id]) {
                    crashed.append(updated)
                }
            }
            return crashed
        }
    }

    /// `kill(pid, 0)`: the process exists (EPERM means it exists but belongs to someone else).
    public static func processIsAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Deletes a run and everything recorded under it (stages, params, metrics, artifacts rows,
    /// events; its schedule tick keeps the tick but forgets the run). Files are not touched.
    public func deleteRun(_ id: RunID) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM runs WHERE id = ?", arguments: [id])
        }
    }

    /// `PRAGMA integrity_check` lines; `["ok"]` for a sound database.
    public func integrityCheck() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// The journal mode in effect (`wal` for a store).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}

public enum RunStoreError: Error, CustomStringConvertible, Equatable {
    case noSuchRun(RunID)
    case noSuchStageRun(StageRunID)
    case noDatabase(String)

    public var description: String {
        switch self {
        case let .noSuchRun(id): return "runs.sqlite: no run with id \(id)"
        case let .noSuchStageRun(id): return "runs.sqlite: no stage run with id \(id)"
        case let .noDatabase(path): return "\(path): no run database (run a pipeline first)"
        }
    }
}
