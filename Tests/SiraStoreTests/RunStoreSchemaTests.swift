import Foundation
import GRDB
import Testing
@testable import SiraStore

@Test func migrationsCreateTheSchemaFromEmptyInWAL() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("data/runs.sqlite").path))
    #expect(try store.journalMode() == "wal")
    let tables = try store.pool.read { db in
        try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
    }
    #expect(tables == ["artifacts", "datasets", "events", "metrics", "params", "runs", "schedule_ticks", "stage_runs"])
    let runColumns = try store.pool.read { db in try db.columns(in: "runs").map(\.name) }
    #expect(runColumns == ["id", "pipeline", "manifest_hash", "trigger", "status", "host", "pid", "heartbeat",
                           "created_at", "started_at", "finished_at", "error"])
    let stageColumns = try store.pool.read { db in try db.columns(in: "stage_runs").map(\.name) }
    #expect(stageColumns == ["id", "run_id", "stage", "kind", "task", "variant", "attempt", "cache_key", "status",
                             "executor", "external_id", "started_at", "finished_at", "duration", "log_path", "error"])
    let applied = try store.pool.read { db in try StoreSchema.migrator.appliedMigrations(db) }
    #expect(applied == ["v1-run-tracking"])
    #expect(try store.integrityCheck() == ["ok"])
    let foreignKeys = try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
    #expect(foreignKeys == 1)
}

@Test func reopeningKeepsDataAndDoesNotReapplyMigrations() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let id = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", now: t0)
    let again = try RunStore(workspace: dir)
    #expect(try again.run(id)?.pipeline == "p")
    #expect(try again.pool.read { db in try StoreSchema.migrator.hasCompletedMigrations(db) })
}

@Test func statusConstraintsRejectUnknownWords() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(throws: DatabaseError.self) {
        try store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO runs (pipeline, manifest_hash, trigger, status, host, pid, created_at)
                VALUES ('p', 'h', 'manual', 'exploded', 'x', 1, 0)
                """)
        }
    }
    #expect(RunStatus.allCases.map(\.rawValue) == ["queued", "running", "succeeded", "failed", "cancelled", "crashed"])
    #expect(StageStatus.allCases.count == 8)
}
