#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SiraIO

/// One attempt of one stage, as handed to an executor.
public struct StageAttempt: Sendable {
    public let stage: any PipelineStage
    public let attempt: Int
    public let runID: Int64
    public let workspace: Workspace
    /// Outputs of every dependency (all succeeded or cached).
    public let inputs: [StageID: StageOutput]
    public let logURL: URL
    /// Compute threads for the stage (cores / jobs).
    public let threads: Int
    /// Run even when the output is cached (`run --force`); the new output replaces it.
    public let force: Bool
    let cancellation: CancellationFlag
    let events: @Sendable (PipelineEvent) -> Void
    let metrics: @Sendable ([MetricSample]) -> Void
}

public enum AttemptOutcome: Sendable {
    case cached(StageOutput)
    case succeeded(StageOutput)
    case failed(key: String?, error: String)
    case cancelled(key: String?)

    var key: String? {
        switch self {
        case let .cached(o), let .succeeded(o): return o.key
        case let .failed(k, _), let .cancelled(k): return k
        }
    }
}

/// Performs an attempt wherever it runs: hashes the inputs into the cache key, reuses a complete
/// cached output, or runs the stage into a temporary folder and publishes it atomically
/// (temp, fsync, rename) to `data/cache/<kind>/<key>/`.
public enum StageRunner {
    static let keyLocks = KeyedLock()
    /// Free bytes a stage needs before it starts (its output, its log, the run's SQLite record):
    /// 64 MB, or `SIRA_MIN_FREE_MB` from the environment.
    static let freeSpaceReserve: Int64 = {
        let mb = ProcessInfo.processInfo.environment["SIRA_MIN_FREE_MB"].flatMap { Int64($0) } ?? 64
        return max(0, min(mb, 1 << 40)) * 1_000_000
    }()

    /// The stage's cache key from its dependencies' outputs and its external inputs (hashed now).
    static func cacheKey(_ stage: any PipelineStage, inputs: [StageID: StageOutput], workspace ws: Workspace) throws -> String {
        var hashes: [String: String] = [:]
        for dep in stage.dependencies {
            guard let out = inputs[dep] else { throw StageFailure("input \(dep) is missing") }
            hashes[dep.description] = out.digest
        }
        for (name, hash) in try stage.externalInputs(ws) { hashes[name] = hash }
        return CacheKey.compute(kind: stage.id.kind, parameters: try stage.parameters(), inputs: hashes)
    }

    public static func perform(_ a: StageAttempt) -> AttemptOutcome {
        let stage = a.stage
        let ws = a.workspace
        let key: String
        do {
            key = try cacheKey(stage, inputs: a.inputs, workspace: ws)
        } catch {
            return .failed(key: nil, error: "\(error)")
        }
        let kindFolder = ws.stageCacheFolder(stage.id.kind)
        let folder = kindFolder.appendingPathComponent(key)
        // Two stages with the same key compute the same thing: the second waits and reuses.
        let lockName = "\(stage.id.kind.rawValue)/\(key)"
        keyLocks.lock(lockName)
        defer { keyLocks.unlock(lockName) }
        if !a.force, let out = StageOutput.loadIfComplete(folder: folder, workspace: ws) { return .cached(out) }
        if a.cancellation.isSet { return .cancelled(key: key) }

        // Below the reserve a stage would die mid-write, and the run record after it: refuse now.
        if let free = DiskSpace.available(at: kindFolder), free < Self.freeSpaceReserve {
            return .failed(key: key, error: "only \(DiskSpace.describe(at: kindFolder)) on the file system of \(ws.relative(kindFolder)); "
                + "a stage needs at least \(Self.freeSpaceReserve / 1_000_000) MB to write its output and record the run: free some space and run again")
        }
        let fm = FileManager.default
        let tmp = kindFolder.appendingPathComponent(".\(key).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))")
        let work = kindFolder.appendingPathComponent("\(key).work")
        // A forced stage starts from scratch; its own retries resume from what it saved.
        if a.force && a.attempt == 1 { try? fm.removeItem(at: work) }
        var log: FileHandle?
        do {
            try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
            try fm.createDirectory(at: work, withIntermediateDirectories: true)
            try fm.createDirectory(at: a.logURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            if !fm.fileExists(atPath: a.logURL.path) { _ = fm.createFile(atPath: a.logURL.path, contents: nil) }
            log = try FileHandle(forWritingTo: a.logURL)
            _ = try log?.seekToEnd()
        } catch {
            try? fm.removeItem(at: tmp)
            return .failed(key: key, error: "cannot prepare \(ws.relative(tmp)): \(error)")
        }
        defer { try? log?.close() }
        let ctx = StageContext(
            id: stage.id, runID: a.runID, attempt: a.attempt, key: key, workspace: ws, inputs: a.inputs,
            outputFolder: tmp, workFolder: work, threads: a.threads, logHandle: log, cancellation: a.cancellation,
            events: a.events, flushMetrics: a.metrics
        )
        let started = Date()
        ctx.log("\(stage.id) attempt \(a.attempt) key \(key)")
        do {
            let result = try stage.run(ctx)
            ctx.flush()
            let files = try StageOutput.scanFiles(tmp)
            let out = StageOutput(
                stage: stage.id.description, key: key, files: files, external: result.external,
                metrics: result.metrics, info: result.info, seconds: Date().timeIntervalSince(started), folder: folder
            )
            // A plain write: the whole folder is fsynced and renamed into place below.
            try JSONEncoder.pipeline.encode(out).write(to: tmp.appendingPathComponent(StageOutput.fileName))
            try AtomicFile.syncTree(tmp)
            try AtomicFile.publish(tmp, to: folder)
            try? fm.removeItem(at: work)
            ctx.log("\(stage.id) published \(files.count) file(s) to \(ws.relative(folder))")
            return .succeeded(out)
        } catch is StageCancelled {
            ctx.flush()
            ctx.log("\(stage.id) cancelled; resumable state kept in \(ws.relative(work))")
            try? fm.removeItem(at: tmp)
            return .cancelled(key: key)
        } catch {
            ctx.flush()
            ctx.log("\(stage.id) failed: \(error)")
            try? fm.removeItem(at: tmp)
            // Resumable state stays for the retry; an empty work folder is only litter.
            if (try? fm.contentsOfDirectory(atPath: work.path))?.isEmpty == true { try? fm.removeItem(at: work) }
            return .failed(key: key, error: DiskSpace.isFull(error) ? "\(DiskFullError(path: tmp.path))" : "\(error)")
        }
    }

    /// Removes temporary folders left by killed processes (`.<key>.tmp-*`). Only safe with the
    /// workspace lock held: then no live process is writing any of them.
    public static func removeStaleTemporaries(_ workspace: Workspace) {
        let fm = FileManager.default
        for kind in StageKind.allCases {
            let folder = workspace.stageCacheFolder(kind)
            guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
                try? fm.removeItem(at: folder.appendingPathComponent(name))
            }
        }
    }
}

/// Mutual exclusion by name (a cache key) within this process.
final class KeyedLock: @unchecked Sendable {
    private let cond = NSCondition()
    private var held: Set<String> = []

    func lock(_ name: String) {
        cond.lock()
        while held.contains(name) { cond.wait() }
        held.insert(name)
        cond.unlock()
    }

    func unlock(_ name: String) {
        cond.lock()
        held.remove(name)
        cond.broadcast()
        cond.unlock()
    }
}
