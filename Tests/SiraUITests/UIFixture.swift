import Foundation
import SiraStore
import SiraUI

/// A workspace whose database is filled through `RunStore` (the writer the scheduler uses), and
/// the UI server on it, in process, on a free loopback port.
final class UIFixture: @unchecked Sendable {
    let root: URL
    let writer: RunStore
    var server: Task<Void, Error>?
    var client = RawHTTP(port: 0)

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("sira-ui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("data/logs"), withIntermediateDirectories: true)
        writer = try RunStore(workspace: root)
    }

    deinit {
        server?.cancel()
        try? FileManager.default.removeItem(at: root)
    }

    /// The server's tasks (and its handlers', which inherit the preference) run on their own
    /// threads: a test blocked in a socket read, and other suites' work filling the cooperative
    /// pool (two threads on two cores), never starve the server the test is waiting for.
    static let serverExecutor = DispatchTaskExecutor()

    /// Starts the server and waits for its "serving" event without holding a thread.
    func start(token: String? = nil) async throws {
        let port = RawHTTP.freePort()
        let (events, signal) = AsyncStream<Void>.makeStream()
        let app = try UIServer(workspace: root, port: port,
                               policy: BindPolicy(host: "127.0.0.1", allowRemote: false, token: token)).application(onRunning: { signal.yield() })
        server = Task(executorPreference: Self.serverExecutor) {
            defer { signal.finish() }
            try await app.runService()
        }
        client = RawHTTP(port: port)
        var running = false
        for await _ in events { running = true; break }
        guard running else { throw RawHTTP.Failure(description: "server on \(port) stopped before serving") }
    }

    /// A finished two-variant run with stages (one cached), params, a loss curve and a log file.
    @discardableResult
    func addRun(pipeline: String = "tiny", trigger: String = "manual", status: RunStatus = .succeeded,
                lr: String = "0.001", losses: [Double] = [2.0, 1.5, 1.2], now: Date = Date()) throws -> RunID {
        let id = try writer.createRun(pipeline: pipeline, manifestHash: "h", trigger: trigger, status: .running, now: now)
        try writer.recordParams(run: id, ["train.lr": lr, "train.steps": "3"])
        let logDir = root.appendingPathComponent("data/logs/\(id)")
        try FileManager.default.createDirectory(at: logDir, withIntermediateDirectories: true)
        try "train line 1\ntrain line 2\n".write(to: logDir.appendingPathComponent("train.add.lora.1.log"), atomically: true, encoding: .utf8)
        let train = try writer.startStage(run: id, StageSpec(stage: "train.add.lora", kind: "train", task: "add", variant: "lora",
                                                               cacheKey: "abc123", executor: "local", logPath: "data/logs/\(id)/train.add.lora.1.log"))
        var points: [MetricPoint] = []
        for (i, l) in losses.enumerated() {
            points.append(MetricPoint(runID: id, stageRunID: train, task: "add", variant: "lora", key: "train.loss", value: l, step: i + 1, time: now))
        }
        points.append(MetricPoint(runID: id, task: "add", variant: "lora", key: "eval.exact_match", value: 0.5, step: nil, time: now))
        try writer.recordMetrics(points)
        if status != .running {
            _ = try writer.finishStage(train, status: .succeeded, now: now)
            _ = try writer.setRunStatus(id, status, now: now)
        }
        return id
    }
}

/// A `TaskExecutor` on a concurrent dispatch queue (threads outside Swift's cooperative pool).
final class DispatchTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let queue = DispatchQueue(label: "sira-ui-tests.server", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
