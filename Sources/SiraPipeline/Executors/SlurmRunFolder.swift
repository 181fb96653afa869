import Foundation
import SiraIO

/// What a Slurm run shares between the submitting process and its jobs, on the shared filesystem
/// under `data/slurm/<run>/`:
///
/// ```
/// run.json                     SlurmRunSpec: how to rebuild the stages, stage numbers, dependencies
/// manifest.yaml                a byte copy of the run's manifest (manifest runs)
/// jobs/<n>-<label>.sh          the job scripts, as submitted
/// results/<stage>.<attempt>.json   StageExecResult, written atomically by the job as its last act
/// metrics/<stage>.<attempt>.jsonl  metric points the stage reported while running
/// progress/<stage>.<attempt>.json  the newest progress report (step, loss), for the display
/// out/<stage>.<attempt>.out        the job's stdout and stderr
/// ```
/// `<stage>` is the stage's number in `run.json`, so no name from a manifest becomes a path.
/// Only the submitting process writes SQLite; jobs write only here and to the stage cache.
struct SlurmRunFolder: Sendable {
    let workspace: Workspace
    let runID: Int64

    var url: URL { workspace.dataFolder.appendingPathComponent("slurm").appendingPathComponent(String(runID)) }
    var specURL: URL { url.appendingPathComponent("run.json") }
    var manifestURL: URL { url.appendingPathComponent("manifest.yaml") }
    var scriptsFolder: URL { url.appendingPathComponent("jobs") }
    var resultsFolder: URL { url.appendingPathComponent("results") }

    func resultURL(stage: Int, attempt: Int) -> URL { resultsFolder.appendingPathComponent("\(stage).\(attempt).json") }
    func metricsURL(stage: Int, attempt: Int) -> URL { url.appendingPathComponent("metrics/\(stage).\(attempt).jsonl") }
    func outputURL(stage: Int, attempt: Int) -> URL { url.appendingPathComponent("out/\(stage).\(attempt).out") }
    func progressURL(stage: Int, attempt: Int) -> URL { url.appendingPathComponent("progress/\(stage).\(attempt).json") }

    /// The same log file the scheduler records for the attempt (`data/logs/<run>/<stage>.<attempt>.log`).
    func logURL(stage: StageID, attempt: Int) -> URL {
        workspace.logsFolder.appendingPathComponent(String(runID)).appendingPathComponent("\(stage).\(attempt).log")
    }

    /// Starts the folder afresh (run ids restart when a database is replaced; old files must not
    /// pass for this run's results).
    func create(spec: SlurmRunSpec) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: url.path) { try fm.removeItem(at: url) }
        for sub in ["jobs", "results", "metrics", "out", "progress"] {
            try fm.createDirectory(at: url.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try AtomicFile.write(try JSONEncoder.pipeline.encode(spec), to: specURL)
    }

    /// The run's stages, rebuilt from `run.json` (and the manifest copy) in any process.
    func stages(_ spec: SlurmRunSpec, planner: StagePlanner) throws -> [any PipelineStage] {
        switch spec.source {
        case let .probe(p):
            return p.stages()
        case let .manifest(file, sha256):
            let manifest = try ManifestLoader.load(manifestURL, displayPath: file)
            guard manifest.sha256 == sha256 else {
                throw StageFailure("\(workspace.relative(manifestURL)) does not match the manifest the run was submitted with")
            }
            return try planner(manifest, workspace)
        }
    }

    func loadSpec() throws -> SlurmRunSpec {
        let data: Data
        do { data = try Data(contentsOf: specURL) } catch {
            throw StageFailure("cannot read \(workspace.relative(specURL)) (is the workspace on a filesystem this node shares?): \(error.localizedDescription)")
        }
        return try JSONDecoder.pipeline.decode(SlurmRunSpec.self, from: data)
    }

    func writeResult(_ result: StageExecResult, stage: Int) throws {
        try AtomicFile.write(try JSONEncoder.pipeline.encode(result), to: resultURL(stage: stage, attempt: result.attempt))
    }

    /// The attempt's result, nil while the job has not written it.
    func result(stage: Int, attempt: Int) -> StageExecResult? {
        guard let data = try? Data(contentsOf: resultURL(stage: stage, attempt: attempt)) else { return nil }
        return try? JSONDecoder.pipeline.decode(StageExecResult.self, from: data)
    }

    /// The successful result of a stage in this run, whichever attempt produced it.
    func successfulResult(stage: Int) -> StageExecResult? {
        let prefix = "\(stage)."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: resultsFolder.path) else { return nil }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".json") {
            guard let attempt = Int(name.dropFirst(prefix.count).dropLast(5)),
                  let r = result(stage: stage, attempt: attempt), r.status.producedOutput else { continue }
            return r
        }
        return nil
    }

    /// Metric points a job recorded for the attempt, in the order written.
    func metrics(stage: Int, attempt: Int) -> [MetricSample] {
        guard let text = try? String(contentsOf: metricsURL(stage: stage, attempt: attempt), encoding: .utf8) else { return [] }
        let decoder = JSONDecoder.pipeline
        return text.split(separator: "\n").compactMap { line in
            (try? decoder.decode(MetricLine.self, from: Data(line.utf8))).map {
                MetricSample(key: $0.key, value: $0.value, step: $0.step, time: $0.time)
            }
        }
    }
}

/// `run.json`: written once by the submitting process before the first job.
struct SlurmRunSpec: Codable, Sendable, Equatable {
    struct Stage: Codable, Sendable, Equatable {
        var id: String
        var dependencies: [String]
    }

    /// How the job rebuilds the stages.
    enum Source: Codable, Sendable, Equatable {
        /// From `manifest.yaml` in the run folder; `file` is where the manifest came from (for
        /// messages), `sha256` the hash of its bytes.
        case manifest(file: String, sha256: String)
        case probe(ProbePipeline)
    }

    var runID: Int64
    var pipeline: String
    var toolVersion: String
    var source: Source
    /// Stages by number (their position here).
    var stages: [Stage]
    /// Ids of the stages that run even when cached (`run --force`); nil in specs that predate it.
    var forced: [String]?

    func number(of id: String) -> Int? { stages.firstIndex { $0.id == id } }
}

/// A job's report on one attempt, `results/<stage>.<attempt>.json`. The output itself is the
/// stage's published cache folder (`data/cache/<kind>/<key>/`), which the submitter loads.
struct StageExecResult: Codable, Sendable, Equatable {
    enum Status: String, Codable, Sendable {
        case succeeded, cached, failed, cancelled

        var producedOutput: Bool { self == .succeeded || self == .cached }
    }

    var stage: String
    var attempt: Int
    var status: Status
    var key: String?
    var error: String?
    var host: String
    /// `123` or `123_4` (array job and index), from the job's environment.
    var job: String?
    var started: Date
    var finished: Date
}

/// One line of `metrics/<stage>.<attempt>.jsonl`.
struct MetricLine: Codable {
    var key: String
    var value: Double
    var step: Int?
    var time: Date
}

/// `progress/<stage>.<attempt>.json`.
struct ProgressLine: Codable {
    var step: Int
    var total: Int
    var loss: Double?
    var tokensPerSecond: Double?
    var note: String?
}
