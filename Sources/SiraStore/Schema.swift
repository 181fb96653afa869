import GRDB

/// The run-tracking schema of `data/runs.sqlite`, in one place: every table, column and index the
/// product writes, as versioned migrations. A migration, once landed on main, is never edited:
/// changes go in a new `registerMigration` below it so existing databases upgrade in place.
///
/// Conventions:
/// - times are `REAL` Unix seconds (UTC), sortable and comparable in SQL; `schedule_ticks.tick_time`
///   is an `INTEGER` Unix second so equality is exact;
/// - statuses are lowercase words checked by `CHECK` constraints (`RunStatus`, `StageStatus`);
/// - every child row belongs to a run and goes with it (`ON DELETE CASCADE`), so retention deletes
///   a run with one statement.
public enum StoreSchema {
    /// The migrations, oldest first. `RunStore(path:)` applies the ones a database has not seen.
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-run-tracking") { db in
            try db.execute(sql: v1)
        }
        return migrator
    }

    /// Version 1. Read this to know the database.
    static let v1 = """
    -- One row per pipeline run. `heartbeat` is refreshed by the live scheduler; a run whose
    -- heartbeat is stale, or whose pid is gone on its host, is marked 'crashed'.
    CREATE TABLE runs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        pipeline      TEXT    NOT NULL,
        manifest_hash TEXT    NOT NULL,
        trigger       TEXT    NOT NULL,          -- manual | schedule | watch | ...
        status        TEXT    NOT NULL CHECK (status IN
                          ('queued','running','succeeded','failed','cancelled','crashed')),
        host          TEXT    NOT NULL,
        pid           INTEGER NOT NULL,
        heartbeat     REAL,
        created_at    REAL    NOT NULL,
        started_at    REAL,
        finished_at   REAL,
        error         TEXT
    );
    CREATE INDEX runs_by_pipeline ON runs(pipeline, created_at);
    CREATE INDEX runs_by_status   ON runs(status);

    -- One row per attempt of a stage (a retry is a new row with attempt + 1). A cache hit is a row
    -- with status 'cached' carrying the cache key of the stage run that produced the outputs.
    CREATE TABLE stage_runs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        stage        TEXT    NOT NULL,           -- unique within a run's graph, e.g. train@dates/sira
        kind         TEXT    NOT NULL,           -- ingest | tokenize | base | train | evaluate | merge | package
        task         TEXT,
        variant      TEXT,
        attempt      INTEGER NOT NULL DEFAULT 1,
        cache_key    TEXT,
        status       TEXT    NOT NULL CHECK (status IN
                         ('queued','running','succeeded','failed','cancelled','crashed','cached','skipped')),
        executor     TEXT    NOT NULL DEFAULT 'local',
        external_id  TEXT,                       -- e.g. a Slurm job id
        started_at   REAL,
        finished_at  REAL,
        duration     REAL,                       -- seconds
        log_path     TEXT,
        error        TEXT
    );
    CREATE INDEX stage_runs_by_run   ON stage_runs(run_id, id);
    CREATE INDEX stage_runs_by_cache ON stage_runs(cache_key, status);

    -- Resolved parameters. stage_run_id NULL = run scope. One value per (scope, key).
    CREATE TABLE params (
        id           INTEGER PRIMARY KEY,
        run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        stage_run_id INTEGER REFERENCES stage_runs(id) ON DELETE CASCADE,
        key          TEXT    NOT NULL,
        value        TEXT    NOT NULL
    );
    CREATE UNIQUE INDEX params_unique ON params(run_id, ifnull(stage_run_id, 0), key);

    -- Metric points; a series is (run, task, variant, key) ordered by step then time.
    CREATE TABLE metrics (
        id           INTEGER PRIMARY KEY,
        run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        stage_run_id INTEGER REFERENCES stage_runs(id) ON DELETE CASCADE,
        task         TEXT,
        variant      TEXT,
        key          TEXT    NOT NULL,
        value        REAL,                       -- NULL = NaN (SQLite cannot store NaN)
        step         INTEGER,
        time         REAL    NOT NULL
    );
    CREATE INDEX metrics_by_run_key ON metrics(run_id, key, step);

    -- Files a stage produced (path relative to the workspace when possible).
    CREATE TABLE artifacts (
        id           INTEGER PRIMARY KEY,
        run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        stage_run_id INTEGER REFERENCES stage_runs(id) ON DELETE CASCADE,
        path         TEXT    NOT NULL,
        sha256       TEXT    NOT NULL,
        bytes        INTEGER NOT NULL,
        kind         TEXT    NOT NULL,           -- dataset | shards | tokenizer | base | adapter | eval | package | ...
        created_at   REAL    NOT NULL
    );
    CREATE INDEX artifacts_by_run    ON artifacts(run_id);
    CREATE INDEX artifacts_by_sha256 ON artifacts(sha256);

    -- Ingested dataset snapshots, identified by content: the same bytes are one row per task.
    CREATE TABLE datasets (
        id          INTEGER PRIMARY KEY,
        task        TEXT    NOT NULL,
        sha256      TEXT    NOT NULL,
        path        TEXT    NOT NULL,
        records     INTEGER NOT NULL,
        created_at  REAL    NOT NULL,
        UNIQUE (task, sha256)
    );

    -- Schedule ticks that fired. The primary key makes a second claim of the same tick a no-op,
    -- so a tick never fires twice, even with two schedulers racing.
    CREATE TABLE schedule_ticks (
        pipeline   TEXT    NOT NULL,
        tick_time  INTEGER NOT NULL,             -- the due time, Unix seconds
        fired_at   REAL    NOT NULL,
        run_id     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        PRIMARY KEY (pipeline, tick_time)
    ) WITHOUT ROWID;

    -- A run's log of notable happenings (retries, crash detection, cancellation, ...).
    CREATE TABLE events (
        id       INTEGER PRIMARY KEY,
        time     REAL    NOT NULL,
        run_id   INTEGER REFERENCES runs(id) ON DELETE CASCADE,
        level    TEXT    NOT NULL,               -- debug | info | warning | error
        message  TEXT    NOT NULL
    );
    CREATE INDEX events_by_run ON events(run_id, time);
    """
}
