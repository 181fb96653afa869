import ArgumentParser
import Foundation
import Logging
import SiraIO
import SiraPipeline
import SiraStages

/// `sira-pipeline bench watch`: how fast the watch daemon turns dropped files into runs
/// (DESIGN.md §9, target: file dropped → run started < 1 s).
///
/// A throwaway workspace with one unscheduled pipeline whose single stage does nothing, so the
/// figures are the daemon's own: inotify, the complete-file detector (with its default stability
/// window), hashing, routing, the run queue and the run record in SQLite.
/// - latency: a file is written outside the inbox, then renamed in; the clock runs from the rename
///   to the run's start (`runStarted`), one file at a time, each with new content;
/// - throughput: `--files` small files renamed in at once; time until every one is detected
///   complete, and until the runs they cause (merged while queued) have finished.
struct BenchWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Time from a file's rename into the inbox to its run starting, and throughput for many small files."
    )

    @Option(help: "Files timed one at a time for the latency.")
    var samples: Int = 20

    @Option(help: "Files dropped at once for the throughput.")
    var files: Int = 1000

    @Option(help: "Scan this often (seconds) instead of inotify, as `watch --poll` does.")
    var poll: Double?

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    func validate() throws {
        guard samples >= 1, files >= 1 else { throw ValidationError("--samples and --files must be at least 1") }
    }

    func run() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sira-bench-watch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let ws = Workspace(root: root)
        let inbox = ws.dataFolder.appendingPathComponent("inbox"), staging = root.appendingPathComponent("staging")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try AtomicFile.write("""
            name: bench
            tasks:
              - name: bench
                from: data/inbox/*.jsonl
            adapters:
              lora: {r: 4}
            """, to: root.appendingPathComponent("pipelines/bench.yaml"))

        let events = BenchEvents()
        var hooks = WatchHooks()
        hooks.runStarted = { _, _ in events.mark(\.started) }
        hooks.runFinished = { _, _ in events.mark(\.finished) }
        hooks.fileComplete = { _, _ in events.mark(\.complete) }
        let logger = Logger(label: "bench.watch") { LineLogHandler(label: $0, format: .text, write: { _ in }) }
        let options = WatchOptions(pollInterval: poll)
        let daemon = WatchDaemon(workspace: ws, options: options, logger: logger,
                                 planner: { m, _ in [NoopStage(task: m.tasks[0].name)] }, quarantine: nil, hooks: hooks)
        try daemon.start()
        defer { daemon.stop() }

        // latency, one file at a time
        var latencies: [Double] = []
        for i in 0 ..< samples {
            let name = "latency-\(i).jsonl"
            try Data("{\"text\": \"sample \(i) \(UUID().uuidString)\"}\n".utf8).write(to: staging.appendingPathComponent(name))
            let before = events.count(\.started)
            let t0 = Date()
            guard rename(staging.appendingPathComponent(name).path, inbox.appendingPathComponent(name).path) == 0 else {
                throw ValidationError("cannot rename into \(inbox.path)")
            }
            guard let t1 = events.wait(\.started, count: before + 1, timeout: 30) else {
                throw ValidationError("no run started within 30 s of dropping \(name)")
            }
            latencies.append(t1.timeIntervalSince(t0))
            _ = events.wait(\.finished, count: before + 1, timeout: 30)
        }

        // throughput, all at once
        for i in 0 ..< files {
            try Data("{\"text\": \"burst \(i) \(UUID().uuidString)\"}\n".utf8).write(to: staging.appendingPathComponent("burst-\(i).jsonl"))
        }
        let completeBefore = events.count(\.complete), startedBefore = events.count(\.started)
        let t0 = Date()
        for i in 0 ..< files {
            _ = rename(staging.appendingPathComponent("burst-\(i).jsonl").path, inbox.appendingPathComponent("burst-\(i).jsonl").path)
        }
        let renamed = Date().timeIntervalSince(t0)
        guard let detected = events.wait(\.complete, count: completeBefore + files, timeout: 120) else {
            throw ValidationError("only \(events.count(\.complete) - completeBefore) of \(files) files detected within 120 s")
        }
        // the runs those files caused: wait until the queue is empty and every started run finished
        var settled = Date()
        let end = Date().addingTimeInterval(120)
        while Date() < end {
            if daemon.queued.isEmpty, events.count(\.finished) == events.count(\.started) {
                settled = events.last(\.finished) ?? Date()
                usleep(300_000)
                if daemon.queued.isEmpty, events.count(\.finished) == events.count(\.started) { break }
            }
            usleep(10_000)
        }
        let burstRuns = events.count(\.started) - startedBefore

        let sorted = latencies.sorted()
        func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded()))] }
        let detectSeconds = detected.timeIntervalSince(t0)
        let settleSeconds = settled.timeIntervalSince(t0)
        let mode = poll.map { "poll every \($0) s" } ?? "inotify"
        let rows: [(String, String, String)] = [
            ("mode", mode, ""),
            ("stability window", String(format: "%.2f s", options.stabilityWindow), ""),
            ("rename → run started, median (\(samples) files)", String(format: "%.3f s", pct(0.5)), "< 1 s"),
            ("rename → run started, p95", String(format: "%.3f s", pct(0.95)), "< 1 s"),
            ("rename → run started, max", String(format: "%.3f s", sorted.last!), ""),
            ("\(files) files: renamed in", String(format: "%.3f s", renamed), ""),
            ("\(files) files: all detected complete", String(format: "%.3f s (%.0f files/s)", detectSeconds, Double(files) / detectSeconds), ""),
            ("\(files) files: runs started (merged while queued)", "\(burstRuns)", ""),
            ("\(files) files: last run finished", String(format: "%.3f s", settleSeconds), ""),
        ]
        let width = rows.map(\.0.count).max()!
        print("bench watch")
        for (k, v, t) in rows {
            print("  " + k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v + (t.isEmpty ? "" : "   (target \(t))"))
        }
        if let json {
            let figures: [String: Any] = [
                "mode": mode, "stability_window_s": options.stabilityWindow,
                "latency_s": ["median": pct(0.5), "p95": pct(0.95), "max": sorted.last!, "min": sorted.first!, "samples": samples],
                "latency_target_s": 1.0,
                "burst": ["files": files, "detect_s": detectSeconds, "files_per_s": Double(files) / detectSeconds,
                          "runs": burstRuns, "settled_s": settleSeconds, "rename_s": renamed],
            ]
            let data = try JSONSerialization.data(withJSONObject: figures, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(Array(data), to: URL(fileURLWithPath: json))
        }
    }
}

/// Times of daemon events, thread-safe.
private final class BenchEvents: @unchecked Sendable {
    struct Times { var started: [Date] = []; var finished: [Date] = []; var complete: [Date] = [] }
    private let cond = NSCondition()
    private var times = Times()

    func mark(_ key: WritableKeyPath<Times, [Date]>) {
        cond.lock()
        times[keyPath: key].append(Date())
        cond.broadcast()
        cond.unlock()
    }

    func count(_ key: KeyPath<Times, [Date]>) -> Int {
        cond.lock()
        defer { cond.unlock() }
        return times[keyPath: key].count
    }

    func last(_ key: KeyPath<Times, [Date]>) -> Date? {
        cond.lock()
        defer { cond.unlock() }
        return times[keyPath: key].last
    }

    /// The time of the `count`-th event, waiting for it up to `timeout` seconds.
    func wait(_ key: KeyPath<Times, [Date]>, count: Int, timeout: TimeInterval) -> Date? {
        let end = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        while times[keyPath: key].count < count {
            if !cond.wait(until: end) { break }
        }
        return times[keyPath: key].count >= count ? times[keyPath: key][count - 1] : nil
    }
}

/// A stage that does nothing, so the bench measures the daemon alone.
private struct NoopStage: PipelineStage {
    var task: String
    var id: StageID { StageID(.ingest, task: task) }
    var dependencies: [StageID] { [] }
    func parameters() throws -> String { "{}" }
    func run(_ context: StageContext) throws -> StageResult { StageResult() }
}
