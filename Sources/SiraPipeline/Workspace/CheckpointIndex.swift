import Foundation
import SiraIO

/// Where a run's packages are published: `checkpoints/<pipeline>/<run>/` holds every package the
/// run ended with (built by it or reused from the cache; hard links, so no bytes are copied),
/// `base/` — the base model the adapters were trained on, as an HF folder with the pipeline's
/// `tokenizer.json`, so `score`/`generate --model checkpoints/<pipeline>/<run>/base` just work —
/// and `index.json` listing them with their metrics; `checkpoints/<pipeline>/index.json` is the
/// index of the newest run that published, which is what a deployment reads.
public enum CheckpointIndex {
    public struct Entry: Codable, Sendable, Equatable {
        public var stage: String
        public var task: String?
        public var variant: String
        /// Relative to the workspace.
        public var file: String
        public var sha256: String
        public var bytes: Int64
        /// `cached` when an earlier run built it.
        public var status: String
        public var metrics: [String: Double]
    }

    public struct RunIndex: Codable, Sendable, Equatable {
        public var pipeline: String
        public var run: Int64
        public var status: String
        public var createdAt: Date
        public var packages: [Entry]
        /// The published base folder, relative to the workspace (nil in indexes written before it was).
        public var base: String?

        enum CodingKeys: String, CodingKey {
            case pipeline, run, status, createdAt = "created_at", packages, base
        }
    }

    public static func runFolder(workspace: Workspace, pipeline: String, run: Int64) -> URL {
        workspace.checkpointsFolder.appendingPathComponent(pipeline).appendingPathComponent(String(run))
    }

    /// Publishes the summary's packages; returns the run's folder, or nil when it has none.
    @discardableResult
    public static func publish(_ summary: RunSummary, workspace: Workspace) throws -> URL? {
        var entries: [(Entry, URL)] = []
        for s in summary.stages where s.id.kind == .package {
            guard let out = s.output, s.status.producedOutput else { continue }
            for f in out.files where f.path.hasSuffix(".sira") {
                entries.append((Entry(stage: s.id.description, task: s.id.task, variant: s.id.variant ?? "", file: f.path,
                                      sha256: f.sha256, bytes: f.bytes, status: s.status.rawValue, metrics: out.metrics),
                                out.url(f.path)))
            }
        }
        guard !entries.isEmpty else { return nil }
        let folder = runFolder(workspace: workspace, pipeline: summary.pipeline, run: summary.runID)
        let fm = FileManager.default
        try fm.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = AtomicFile.temporaryURL(for: folder)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        do {
            var published: [Entry] = []
            for (entry, source) in entries {
                let name = source.lastPathComponent
                try HardLink.linkOrCopy(source, to: tmp.appendingPathComponent(name))
                var e = entry
                e.file = workspace.relative(folder.appendingPathComponent(name))
                published.append(e)
            }
            let base = try publishBase(summary, into: tmp.appendingPathComponent(baseFolderName))
            let index = RunIndex(pipeline: summary.pipeline, run: summary.runID, status: summary.status.rawValue,
                                 createdAt: Date(), packages: published.sorted { $0.stage < $1.stage },
                                 base: base ? workspace.relative(folder.appendingPathComponent(baseFolderName)) : nil)
            let bytes = try JSONEncoder.pipeline.encode(index)
            try AtomicFile.write(bytes, to: tmp.appendingPathComponent("index.json"))
            try AtomicFile.syncTree(tmp)
            try AtomicFile.publish(tmp, to: folder)
            try AtomicFile.write(bytes, to: folder.deletingLastPathComponent().appendingPathComponent("index.json"))
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
        return folder
    }

    static let baseFolderName = "base"

    /// Links the base stage's model files into `dest`, with the tokenizer stage's `tokenizer.json`
    /// when the base has none. False when the run has no base output.
    static func publishBase(_ summary: RunSummary, into dest: URL) throws -> Bool {
        func output(_ kind: StageKind) -> StageOutput? {
            summary.stages.first { $0.id.kind == kind && $0.status.producedOutput }?.output
        }
        guard let base = output(.base) else { return false }
        try FileManager.default.createDirectory(at: dest, withIntermediateDirectories: true)
        for f in base.files {
            let target = dest.appendingPathComponent(f.path)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try HardLink.linkOrCopy(base.url(f.path), to: target)
        }
        let tokenizer = dest.appendingPathComponent(StageOutput.tokenizerFileName)
        if !FileManager.default.fileExists(atPath: tokenizer.path), let t = output(.tokenizer) {
            try HardLink.linkOrCopy(t.url(StageOutput.tokenizerFileName), to: tokenizer)
        }
        return true
    }

    /// The newest published index of a pipeline.
    public static func latest(workspace: Workspace, pipeline: String) throws -> RunIndex? {
        let url = workspace.checkpointsFolder.appendingPathComponent(pipeline).appendingPathComponent("index.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSONDecoder.pipeline.decode(RunIndex.self, from: Data(contentsOf: url))
    }
}
