import Foundation
import GRDB

/// Which runs `runs(_:)` lists. Nil fields do not filter.
public struct RunFilter: Sendable, Equatable {
    public var pipeline: String?
    public var status: RunStatus?
    /// Runs created at or after this instant.
    public var since: Date?
    /// At most this many (the newest).
    public var limit: Int?

    public init(pipeline: String? = nil, status: RunStatus? = nil, since: Date? = nil, limit: Int? = nil) {
        self.pipeline = pipeline
        self.status = status
        self.since = since
        self.limit = limit
    }
}

/// How a run's stages ended: the latest attempt of each stage, counted by status.
public struct StageSummary: Codable, Sendable, Equatable {
    /// Stage status word → number of stages whose latest attempt has it.
    public var counts: [String: Int] = [:]
    /// Attempts recorded (retries included).
    public var attempts = 0
    public var total: Int { counts.values.reduce(0, +) }

    public init(counts: [String: Int] = [:], attempts: Int = 0) {
        self.counts = counts
        self.attempts = attempts
    }
}

/// Reading run history.
extension RunStore {
    /// `StageSummary` of each of `runs` (runs without stages are absent).
    public func stageSummaries(runs: [RunID]) throws -> [RunID: StageSummary] {
        guard !runs.isEmpty else { return [:] }
        return try pool.read { db in
            var out: [RunID: StageSummary] = [:]
            for chunk in stride(from: 0, to: runs.count, by: 500).map({ Array(runs[$0 ..< min(runs.count, $0 + 500)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: """
                    SELECT run_id, status, count(*) AS n FROM stage_runs s
                    WHERE run_id IN (\(marks))
                      AND id = (SELECT max(id) FROM stage_runs t WHERE t.run_id = s.run_id AND t.stage = s.stage)
                    GROUP BY run_id, status
                    """, arguments: StatementArguments(chunk))
                for row in rows {
                    out[row["run_id"], default: StageSummary()].counts[row["status"]] = row["n"]
                }
                let attempts = try Row.fetchAll(db, sql: "SELECT run_id, count(*) AS n FROM stage_runs WHERE run_id IN (\(marks)) GROUP BY run_id",
                                                arguments: StatementArguments(chunk))
                for row in attempts { out[row["run_id"], default: StageSummary()].attempts = row["n"] }
            }
            return out
        }
    }

    /// Runs matching `filter`, newest first.
    public func runs(_ filter: RunFilter = RunFilter()) throws -> [RunRecord] {
        try pool.read { db in
            var clauses: [String] = []
            var arguments = StatementArguments()
            if let pipeline = filter.pipeline { clauses.append("pipeline = ?"); arguments += [pipeline] }
            if let status = filter.status { clauses.append("status = ?"); arguments += [status.rawValue] }
            if let since = filter.since { clauses.append("created_at >= ?"); arguments += [since.unixSeconds] }
            var sql = "SELECT * FROM runs"
            if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
            sql += " ORDER BY created_at DESC, id DESC"
            if let limit = filter.limit { sql += " LIMIT ?"; arguments += [limit] }
            return try RunRecord.fetchAll(db, sql: sql, arguments: arguments)
        }
    }

    /// One run, or nil.
    public func run(_ id: RunID) throws -> RunRecord? {
        try pool.read { db in
            try RunRecord.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id])
        }
    }

    /// The names of all pipelines that have runs, sorted.
    public func pipelines() throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT pipeline FROM runs ORDER BY pipeline")
        }
    }

    /// Everything recorded about a run, read in one consistent snapshot; nil when no such run.
    public func detail(_ id: RunID) throws -> RunDetail? {
        try pool.read { db in
            guard let run = try RunRecord.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]) else {
                return nil
            }
            let stages = try StageRunRecord.fetchAll(db, sql: "SELECT * FROM stage_runs WHERE run_id = ? ORDER BY id",
                                                     arguments: [id])
            let params = try ParamRecord.fetchAll(db, sql: """
                SELECT * FROM params WHERE run_id = ? ORDER BY ifnull(stage_run_id, 0), key
                """, arguments: [id])
            let points = try MetricPoint.fetchAll(db, sql: "SELECT * FROM metrics WHERE run_id = ? ORDER BY id",
                                                  arguments: [id])
            let artifacts = try ArtifactRecord.fetchAll(db, sql: "SELECT * FROM artifacts WHERE run_id = ? ORDER BY id",
                                                        arguments: [id])
            let events = try EventRecord.fetchAll(db, sql: "SELECT * FROM events WHERE run_id = ? ORDER BY time, id",
                                                  arguments: [id])
            return RunDetail(run: run, stages: stages, params: params, finalMetrics: Self.finalMetrics(points),
                             artifacts: artifacts, events: events)
        }
    }

    /// For each (task, variant, key): a stepless point if there is one (a final evaluation),
    /// otherwise the point with the highest step; among equals the latest recorded. Sorted by
    /// task, variant, key (nil first).
    public static func finalMetrics(_ points: [MetricPoint]) -> [MetricPoint] {
        struct SeriesKey: Hashable { var task: String?, variant: String?, key: String }
        var best: [SeriesKey: MetricPoint] = [:]
        func rank(_ p: MetricPoint) -> (Int, Int, Double) { (p.step == nil ? 1 : 0, p.step ?? 0, p.time.unixSeconds) }
        for p in points {
            let k = SeriesKey(task: p.task, variant: p.variant, key: p.key)
            if let current = best[k], rank(current) > rank(p) { continue }
            best[k] = p
        }
        return best.values.sorted { a, b in
            ((a.task ?? ""), (a.variant ?? ""), a.key) < ((b.task ?? ""), (b.variant ?? ""), b.key)
        }
    }
}
