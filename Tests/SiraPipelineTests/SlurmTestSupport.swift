import Foundation
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import Testing

/// The real Slurm the executor tests run against: the single-node cluster that
/// `scripts/slurm/start-local-slurm.sh` starts (CI runs it before the tests). When it is not
/// running, the tests fail and say how to start it; they never skip.
enum SlurmTestCluster {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Fails with instructions unless `sinfo` shows a node that can take jobs. Busy states count
    /// (`allocated`, `mixed`, `completing`, and `planned`: a pending job's backfill reservation,
    /// what another suite's queued jobs leave); the unusable ones are those the start script's
    /// `UNUSABLE` pattern names.
    static func requireRunning() throws {
        let (status, out) = run("sinfo", ["--noheader", "--format=%T"])
        let states = out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let usable = states.contains(where: isUsable)
        try #require(status == 0 && usable, """
            no usable Slurm here (sinfo exit \(status): \(out.trimmingCharacters(in: .whitespacesAndNewlines))). \
            Start one as root: bash scripts/slurm/start-local-slurm.sh
            """)
    }

    static func isUsable(_ state: String) -> Bool {
        let unusable = ["down", "drain", "fail", "unk", "not_responding", "future", "inval", "power", "maint", "reboot"]
        return !state.isEmpty && !state.hasSuffix("*") && !unusable.contains { state.contains($0) }
    }

    /// The `sira-pipeline` binary `swift test` built next to the test bundle.
    static func binary() throws -> String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sira-pipeline"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("sira-pipeline"),
            packageRoot.appendingPathComponent(".build/debug/sira-pipeline"),
        ]
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return try #require(found, "sira-pipeline binary not found (looked at \(candidates.map(\.path))); run swift build first").path
    }

    /// Jobs of run `runID` of `workspace` still in the queue (others may be testing on the same
    /// cluster: their jobs are never looked at).
    static func queued(_ workspace: Workspace, runID: Int64) -> [QueuedJob] {
        let comment = SlurmRunState.comment(workspace, runID: runID)
        return ((try? SlurmCommands().queue()) ?? []).filter { $0.comment == comment }
    }

    @discardableResult
    static func run(_ program: String, _ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// A workspace whose path has spaces, quotes, `%` and `$(...)` in it: any unquoted use in a job
/// script or an sbatch option would break the run or create `PWNED` files.
final class HostileWorkspace: @unchecked Sendable {
    let base: URL
    let url: URL
    let workspace: Workspace

    init() {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("sira-slurm-\(UUID().uuidString)")
        url = base.appendingPathComponent("ws it's \"q\" %j $(touch PWNED)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        workspace = Workspace(root: url)
    }

    /// A test that failed half-way leaves no jobs behind in the shared queue.
    deinit {
        let tag = SlurmRunState.workspaceTag(workspace)
        let ids = ((try? SlurmCommands().queue()) ?? []).filter { $0.comment.hasPrefix(tag) }.map { String($0.id.split(separator: "_")[0]) }
        if !ids.isEmpty { try? SlurmCommands().cancel(Array(Set(ids))) }
        try? FileManager.default.removeItem(at: base)
    }

    /// Files named PWNED anywhere below the base folder (and in the current folder).
    func pwned() -> [String] {
        var hits: [String] = []
        if let e = FileManager.default.enumerator(atPath: base.path) {
            for case let p as String in e where (p as NSString).lastPathComponent == "PWNED" { hits.append(p) }
        }
        if FileManager.default.fileExists(atPath: "PWNED") { hits.append("./PWNED") }
        return hits
    }
}

/// Runs `probe` in `workspace` with `executor` and an in-memory recorder.
func runProbe(_ probe: ProbePipeline, in workspace: Workspace, executor: StageExecutor, retries: Int,
              recorder: RunRecorder = MemoryRecorder(), observer: PipelineObserver? = nil,
              onSession: ((WorkspaceSession) -> Void)? = nil, force: [String] = []) throws -> RunSummary {
    let session = try WorkspaceSession(workspace: workspace, recorder: recorder, executor: executor)
    defer { session.close() }
    onSession?(session)
    return try session.run(stages: probe.stages(), pipeline: "probe", manifestHash: "probe", jobs: 2, retries: retries,
                           options: RunOptions(heartbeatInterval: 0.5, backoff: 0.2, source: .probe(probe), force: force), observer: observer)
}

func slurmOptions(cpus: Int = 1, arrayLimit: Int? = 2) throws -> SlurmExecutorOptions {
    SlurmExecutorOptions(
        spec: SlurmSpec(partition: nil, account: nil, time: "00:10:00", memory: "300M", cpus: cpus, arrayLimit: arrayLimit),
        command: [try SlurmTestCluster.binary()], pollInterval: 0.3, queueInterval: 1, lostJobGrace: 8
    )
}
