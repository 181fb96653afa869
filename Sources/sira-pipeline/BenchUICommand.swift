import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SiraStore

/// `sira-pipeline bench ui`: page load times of the web UI and the server's memory.
///
/// A throwaway workspace is filled through `RunStore` (as the scheduler writes): `--runs` finished
/// runs, and one run with `--variants` variants (a train stage, a loss curve of `--steps` points
/// and a final metric each). `sira-pipeline ui` is started as a child process on a free port; each
/// page is fetched `--repeat` times over loopback and the median wall time is reported, then the
/// child's resident memory (VmRSS, VmHWM) is read from /proc.
struct BenchUICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Load time of the runs list (1,000 runs) and of a run page (100 variants), and the UI server's memory.")

    @Option(help: "Runs in the list.") var runs: Int = 1000
    @Option(help: "Variants of the big run.") var variants: Int = 100
    @Option(help: "Loss points per variant.") var steps: Int = 100
    @Option(name: .customLong("repeat"), help: "Fetches per page (median reported).") var repetitions: Int = 9
    @Option(help: "Write the figures as JSON to this file.") var json: String?

    func validate() throws {
        guard runs >= 1, variants >= 1, steps >= 1, repetitions >= 1 else { throw ValidationError("counts must be at least 1") }
    }

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sira-bench-ui-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try RunStore(workspace: root)
        let t0 = Date(timeIntervalSince1970: 1_780_000_000)
        for i in 0 ..< runs - 1 {
            let id = try store.createRun(pipeline: "p\(i % 5)", manifestHash: "h", trigger: i % 3 == 0 ? "schedule" : "manual",
                                         status: .running, now: t0.addingTimeInterval(Double(i)))
            try store.recordMetrics([MetricPoint(runID: id, key: "eval.exact_match", value: Double(i % 100) / 100, time: t0)])
            _ = try store.setRunStatus(id, i % 17 == 0 ? .failed : .succeeded, now: t0.addingTimeInterval(Double(i) + 30))
        }
        let big = try store.createRun(pipeline: "big", manifestHash: "h", trigger: "manual", status: .running, now: t0.addingTimeInterval(Double(runs)))
        for v in 0 ..< variants {
            let stage = try store.startStage(run: big, StageSpec(stage: "train.add.v\(v)", kind: "train", task: "add", variant: "v\(v)",
                                                                 cacheKey: "k\(v)", executor: "local", logPath: "data/logs/\(big)/train.add.v\(v).1.log"))
            var points = (0 ..< steps).map { s in
                MetricPoint(runID: big, stageRunID: stage, task: "add", variant: "v\(v)", key: "train.loss",
                            value: 3 / Double(s + 1) + Double(v) / 1000, step: s + 1, time: t0)
            }
            points.append(MetricPoint(runID: big, task: "add", variant: "v\(v)", key: "eval.exact_match", value: Double(v) / Double(variants), time: t0))
            try store.recordMetrics(points)
            _ = try store.finishStage(stage, status: .succeeded, now: t0)
        }
        _ = try store.setRunStatus(big, .succeeded, now: t0.addingTimeInterval(Double(runs) + 60))

        let port = 20000 + Int.random(in: 0 ..< 20000)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        child.arguments = ["ui", "--port", "\(port)", "--workspace", root.path]
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        defer { child.terminate(); child.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        let session = URLSession(configuration: .ephemeral)
        var up = false
        for _ in 0 ..< 300 where !up {
            if let (_, r) = try? await session.data(from: URL(string: base + "/api/runs?limit=1")!), (r as? HTTPURLResponse)?.statusCode == 200 { up = true }
            else { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        guard up else { throw CLIFailure("bench ui: the server did not answer on port \(port)").exit() }

        func median(_ path: String) async throws -> (ms: Double, bytes: Int) {
            var times: [Double] = []
            var bytes = 0
            for _ in 0 ..< repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                let (data, r) = try await session.data(from: URL(string: base + path)!)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                guard (r as? HTTPURLResponse)?.statusCode == 200 else { throw CLIFailure("bench ui: \(path) failed").exit() }
                bytes = data.count
            }
            return (times.sorted()[times.count / 2], bytes)
        }
        let list = try await median("/")
        let apiList = try await median("/api/runs")
        let page = try await median("/runs/\(big)")
        let apiRun = try await median("/api/runs/\(big)")
        let status = (try? String(contentsOfFile: "/proc/\(child.processIdentifier)/status", encoding: .utf8)) ?? ""
        func kb(_ field: String) -> Int {
            status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? -1
        }
        let figures: [String: Double] = [
            "runs": Double(runs), "variants": Double(variants), "steps_per_variant": Double(steps),
            "runs_page_ms": list.ms, "runs_page_bytes": Double(list.bytes),
            "api_runs_ms": apiList.ms, "run_page_ms": page.ms, "run_page_bytes": Double(page.bytes),
            "api_run_ms": apiRun.ms, "server_rss_kb": Double(kb("VmRSS")), "server_peak_rss_kb": Double(kb("VmHWM")),
        ]
        for (k, v) in figures.sorted(by: { $0.key < $1.key }) { print(k.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: "%12.2f", v)) }
        if let json {
            let data = try JSONSerialization.data(withJSONObject: figures, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
    }
}
