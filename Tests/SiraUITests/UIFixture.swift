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

    /// Starts the server and waits until it answers.
    func start(token: String? = nil) throws {
        let port = RawHTTP.freePort()
        let app = try UIServer(workspace: root, port: port,
                               policy: BindPolicy(host: "127.0.0.1", allowRemote: false, token: token)).application()
        server = Task { try await app.runService() }
        client = RawHTTP(port: port)
        let up = RawHTTP.eventually(timeout: 30) { try? client.get("/api/runs", headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:]) }
        guard up != nil else { throw RawHTTP.Failure(description: "server on \(port) did not answer within 30 s") }
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
