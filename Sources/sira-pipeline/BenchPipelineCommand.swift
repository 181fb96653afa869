#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import SiraIO
import SiraPipeline
import SiraStages
import SiraStore

/// `sira-pipeline bench pipeline`: the scheduler's own costs (DESIGN.md §9).
/// - no-op rerun: the demo manifest run again with nothing changed (after a warm-up run that
///   builds its cache if needed): take the workspace lock, open SQLite, mark crashed runs, plan,
///   hash every input, find every stage cached, record the run. Target < 1 s. The measuring
///   reruns are removed from the history (and their `checkpoints/` folders) afterwards.
/// - per-stage overhead: a throwaway workspace with a graph of trivial stages (each writes a few
///   bytes), recorded in SQLite: wall time per stage when each runs (key, temporary folder, log,
///   hashing, `_output.json`, fsync, rename, records) and when each is cached. Target < 20 ms.
struct BenchPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "No-op rerun time of the demo pipeline and per-stage scheduler overhead."
    )

    @Option(help: "The manifest whose no-op rerun is timed.")
    var manifest = "pipelines/demo.yaml"

    @Option(help: "The workspace (default: the current folder). Its cache is built first if needed.")
    var workspace: String?

    @Option(help: "Timed no-op reruns.")
    var repeats = 5

    @Option(help: "Trivial stages in the overhead graph.")
    var stages = 200

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    @Flag(help: "Only the per-stage overhead (no demo rerun).")
    var overheadOnly = false

    func run() throws {
        let overhead = try measureOverhead()
        let rerun = overheadOnly ? Rerun(median: .nan, min: .nan, stages: 0, warmup: 0) : try measureNoOpRerun()
        var rows: [[String]] = overheadOnly ? [] : [
            ["no-op rerun of \(manifest) (\(rerun.stages) stages, median of \(repeats))", String(format: "%.3f s", rerun.median), "< 1 s"],
            ["no-op rerun, fastest", String(format: "%.3f s", rerun.min), "< 1 s"],
        ]
        rows += [
            ["per-stage overhead, stage runs (\(stages) stages, jobs 1)", String(format: "%.2f ms", overhead.executed * 1000), "< 20 ms"],
            ["per-stage overhead, stage runs (jobs 2)", String(format: "%.2f ms", overhead.executedParallel * 1000), "< 20 ms"],
            ["per-stage overhead, stage cached", String(format: "%.2f ms", overhead.cached * 1000), "< 20 ms"],
            ["  of which not SQLite (stage runs, in-memory recording)", String(format: "%.2f ms", overhead.executedWithoutSQLite * 1000), ""],
            ["CPU time per stage, stage runs (jobs 1)", String(format: "%.2f ms", overhead.cpuExecuted * 1000), "< 20 ms"],
            ["CPU time per stage, stage cached", String(format: "%.2f ms", overhead.cpuCached * 1000), "< 20 ms"],
        ]
        print(TextTable(["figure", "value", "target"], rows: rows).render())
        if rerun.warmup > 0 { print(String(format: "(warm-up run to build the cache: %.1f s)", rerun.warmup)) }
        if let json {
            var figures: [String: Double] = [
                "stage_overhead_executed_ms": overhead.executed * 1000,
                "stage_overhead_executed_jobs2_ms": overhead.executedParallel * 1000,
                "stage_overhead_cached_ms": overhead.cached * 1000,
                "stage_overhead_executed_memory_recorder_ms": overhead.executedWithoutSQLite * 1000,
                "stage_cpu_executed_ms": overhead.cpuExecuted * 1000,
                "stage_cpu_cached_ms": overhead.cpuCached * 1000,
                "overhead_graph_stages": Double(stages),
            ]
            if !overheadOnly {
                figures["noop_rerun_median_seconds"] = rerun.median
                figures["noop_rerun_min_seconds"] = rerun.min
                figures["noop_rerun_stages"] = Double(rerun.stages)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(figures), to: URL(fileURLWithPath: json))
        }
    }

    struct Overhead {
        var executed: Double
        var executedParallel: Double
        var cached: Double
        var executedWithoutSQLite: Double
        /// CPU time (user + system, all threads) per stage: what the scheduler costs, apart from
        /// waiting for a core on a busy machine.
        var cpuExecuted: Double
        var cpuCached: Double
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    func measureOverhead() throws -> Overhead {
        var cpu: [Double] = []
        func once(jobs: Int, sqlite: Bool = true) throws -> (Double, Double) {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("sira-bench-pipeline-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            let ws = Workspace(root: root)
            let graph = TrivialStage.graph(count: stages)
            let recorder: RunRecorder = sqlite ? try StoreRecorder(workspace: ws) : MemoryRecorder()
            func timed() throws -> Double {
                let session = try WorkspaceSession(workspace: ws, recorder: recorder, command: "bench")
                defer { session.close() }
                let start = Date()
                let cpuStart = Self.cpuSeconds()
                defer { cpu.append((Self.cpuSeconds() - cpuStart) / Double(stages)) }
                let s = try session.run(stages: graph, pipeline: "bench", manifestHash: "bench", jobs: jobs, retries: 0,
                                        options: RunOptions(), observer: nil)
                guard s.status == .succeeded else { throw ValidationError("bench graph failed: \(s.error ?? "")") }
                return Date().timeIntervalSince(start) / Double(stages)
            }
            return (try timed(), try timed())
        }
        let (executed, cached) = try once(jobs: 1)
        let (parallel, _) = try once(jobs: 2)
        let (memory, _) = try once(jobs: 1, sqlite: false)
        return Overhead(executed: executed, executedParallel: parallel, cached: cached, executedWithoutSQLite: memory,
                        cpuExecuted: cpu[0], cpuCached: cpu[1])
    }

    struct Rerun {
        var median: Double
        var min: Double
        var stages: Int
        var warmup: Double
    }

    func measureNoOpRerun() throws -> Rerun {
        let ws = Workspace(root: URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath))
        let m = try ManifestLoader.load(ws.resolve(manifest), displayPath: manifest)
        func runOnce() throws -> (Double, RunSummary) {
            let start = Date()
            let session = try WorkspaceSession(workspace: ws, recorder: try StoreRecorder(workspace: ws), command: "bench pipeline")
            defer { session.close() }
            let s = try session.run(manifest: m, planner: { try PipelinePlanner.plan($0, $1) }, options: RunOptions(trigger: "bench"), observer: nil)
            return (Date().timeIntervalSince(start), s)
        }
        let (warm, first) = try runOnce()
        guard first.status == .succeeded else { throw ValidationError("the warm-up run of \(manifest) did not succeed: \(first.error ?? "")") }
        let ran = first.stages.filter { $0.status == .succeeded }.count
        // Runs that only measured (every stage cached) leave the history and checkpoints/ as they
        // were: a warm-up that built the cache is a real run and stays.
        var measuringRuns = ran == 0 ? [first.runID] : []
        defer {
            if let store = try? RunStore(path: ws.databaseURL.path) {
                do { try store.removeRuns(measuringRuns, workspace: ws.root) } catch {
                    FileHandle.standardError.write(Data("bench pipeline: could not remove its reruns \(measuringRuns) from the history: \(error)\n".utf8))
                }
            }
        }
        var times: [Double] = []
        for _ in 0 ..< max(1, repeats) {
            let (t, s) = try runOnce()
            measuringRuns.append(s.runID)
            guard s.stages.allSatisfy({ $0.status == .cached }) else {
                throw ValidationError("a rerun of \(manifest) was not entirely cached: \(s.stages.filter { $0.status != .cached }.map(\.id))")
            }
            times.append(t)
        }
        times.sort()
        return Rerun(median: times[times.count / 2], min: times[0], stages: first.stages.count, warmup: ran > 0 ? warm : 0)
    }
}

/// A stage that writes its id and its inputs' digests: scheduling cost with no work.
private struct TrivialStage: PipelineStage {
    var id: StageID
    var dependencies: [StageID]

    func parameters() throws -> String { id.description }

    func run(_ context: StageContext) throws -> StageResult {
        var text = id.description
        for d in dependencies { text += " " + (try context.input(d).digest) }
        try text.write(to: context.outputFolder.appendingPathComponent("out.txt"), atomically: false, encoding: .utf8)
        return StageResult(metrics: ["bytes": Double(text.utf8.count)])
    }

    /// Layers of 20 stages, each depending on two stages of the layer before.
    static func graph(count: Int) -> [TrivialStage] {
        let width = 20
        return (0 ..< count).map { i in
            let layer = i / width, column = i % width
            let deps = layer == 0 ? [] : [column, (column + 7) % width].map { StageID(.train, task: "l\(layer - 1)", variant: "c\($0)") }
            return TrivialStage(id: StageID(.train, task: "l\(layer)", variant: "c\(column)"),
                                dependencies: Array(Set(deps)).sorted())
        }
    }
}
