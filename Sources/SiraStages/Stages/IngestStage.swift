import Foundation
import SiraPipeline
import SiraData
import SiraIO

/// `ingest@task`: the task's source files become a content-addressed dataset snapshot
/// (SiraData's `Ingestor`: validated, deduplicated, stably split into train/eval) under
/// `data/datasets/<task>/<sha>/`. The stage's own output is `snapshot.json`, a small reference to
/// that snapshot, so its digest is the snapshot's identity and not where the bytes came from.
///
/// Files dropped into `data/inbox/` are moved to the archive by ingestion; when `from` matches
/// nothing any more, the task keeps training on its newest snapshot (the inbox is a drop zone,
/// `data/datasets/` the record).
struct IngestStage: PipelineStage {
    let task: TaskSpec

    var id: StageID { StageID(.ingest, task: task.name) }
    var dependencies: [StageID] { [] }

    struct Parameters: Codable {
        var task: String
        var format: String
        var columns: [String: String]
        var evalFraction: Double
    }

    func parameters() throws -> String {
        try CacheKey.canonicalJSON(Parameters(task: task.name, format: task.format.rawValue, columns: task.columns, evalFraction: task.evalFraction))
    }

    func externalInputs(_ workspace: Workspace) throws -> [String: String] {
        let files = TaskSources.files(task, workspace: workspace)
        if files.isEmpty {
            let latest = try Self.latestSnapshot(task: task.name, workspace: workspace, from: task.from)
            return ["snapshot:\(task.name)": latest.lastPathComponent]
        }
        var inputs: [String: String] = [:]
        for (i, url) in files.enumerated() {
            // Position, not path: the same bytes under another name are the same input.
            inputs["file\(i)"] = try ContentHash.sha256(file: url)
        }
        return inputs
    }

    func run(_ context: StageContext) throws -> StageResult {
        let ws = context.workspace
        let files = TaskSources.files(task, workspace: ws)
        let snapshot: Snapshot
        if files.isEmpty {
            let folder = try Self.latestSnapshot(task: task.name, workspace: ws, from: task.from)
            snapshot = try Snapshot(folder)
            context.log("no file matches '\(task.from)'; using the newest snapshot \(ws.relative(folder))")
        } else {
            var reader = ReaderOptions()
            if !task.columns.isEmpty {
                reader.columns = ColumnMapping(prompt: task.columns["prompt"], completion: task.columns["completion"], text: task.columns["text"])
            }
            let options = IngestOptions(task: task.name, format: DatasetFormat(rawValue: task.format.rawValue), reader: reader,
                                        evalFraction: task.evalFraction, rejectsReturned: 20)
            let result = try Ingestor(root: ws.root).ingest(files, options: options)
            for file in files { context.log("source \(ws.relative(file))") }
            for r in result.rejects { context.log("rejected \(r)") }
            for q in result.quarantined { context.log("quarantined \(ws.relative(q.source)): \(q.reason)") }
            context.log("snapshot \(ws.relative(result.snapshot))\(result.reused ? " (already ingested)" : "")")
            snapshot = try Snapshot(result.snapshot)
        }
        let s = snapshot.stats
        guard s.train > 0 else { throw StageFailure("task '\(task.name)': the snapshot has no training records") }
        if task.adapt, s.eval == 0 {
            context.log("warning: no evaluation records (raise eval_fraction or add data); metrics will be empty")
        }
        let reference = SnapshotReference(task: task.name, sha256: s.sha256, path: ws.relative(snapshot.folder),
                                          records: s.records, train: s.train, eval: s.eval)
        try AtomicFile.write(try JSONEncoder.pipeline.encode(reference), to: context.outputFolder.appendingPathComponent(SnapshotReference.fileName))
        return StageResult(
            metrics: ["data.records": Double(s.records), "data.train": Double(s.train), "data.eval": Double(s.eval),
                      "data.rejected": Double(s.rejected), "data.duplicates": Double(s.duplicates)],
            info: ["dataset.sha256": s.sha256, "dataset.path": reference.path, "dataset.records": String(s.records)],
            external: [StageOutput.External(path: ws.relative(snapshot.folder.appendingPathComponent(Snapshot.statsFileName)), sha256: s.sha256)]
        )
    }

    /// The task's most recently written snapshot.
    static func latestSnapshot(task: String, workspace: Workspace, from: String) throws -> URL {
        let folder = workspace.datasetsFolder.appendingPathComponent(task)
        let fm = FileManager.default
        var best: (URL, Date)?
        for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] where !name.hasPrefix(".") {
            let stats = folder.appendingPathComponent(name).appendingPathComponent(Snapshot.statsFileName)
            guard let date = (try? fm.attributesOfItem(atPath: stats.path))?[.modificationDate] as? Date else { continue }
            if best == nil || date > best!.1 { best = (folder.appendingPathComponent(name), date) }
        }
        guard let best else {
            throw StageFailure("task '\(task)': no file matches '\(from)' and no earlier snapshot exists in \(workspace.relative(folder))")
        }
        return best.0
    }
}

/// `snapshot.json`, the output of an ingest stage.
struct SnapshotReference: Codable, Equatable {
    static let fileName = "snapshot.json"

    var task: String
    var sha256: String
    /// Relative to the workspace.
    var path: String
    var records: Int
    var train: Int
    var eval: Int

    static func load(_ output: StageOutput, workspace: Workspace) throws -> (SnapshotReference, Snapshot) {
        let ref = try JSONDecoder.pipeline.decode(SnapshotReference.self, from: Data(contentsOf: output.url(fileName)))
        return (ref, try Snapshot(workspace.resolve(ref.path)))
    }
}
