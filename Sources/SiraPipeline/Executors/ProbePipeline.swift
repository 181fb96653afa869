import Foundation
import SiraIO

/// A small synthetic pipeline with the shape of a real one, for checking that an executor runs
/// a graph faithfully (`sira-pipeline slurm-check`, the executor tests): per-task fan-out,
/// a join, per-task chains after the join, and a final join.
///
/// ```
/// ingest@t ─┬─ tokenizer ─┬─ train@t:probe ── evaluate@t:probe ─┐
///           └─────────────┘ (also ingest@t)                    └─ package:probe
/// ```
/// Every output and metric is a pure function of the seed and the task names, computed from the
/// bytes of the inputs, so two executors that ran the same graph report identical metrics.
/// Task names are arbitrary strings: a checker can use names with spaces, quotes and `$(...)`
/// to prove nothing reaches a shell unquoted.
public struct ProbePipeline: Sendable, Equatable, Codable {
    public var tasks: [String]
    /// Tasks whose `train` stage fails on every attempt (to watch failure handling).
    public var failing: [String]
    /// Seconds each stage sleeps (in steps that poll for cancellation).
    public var seconds: Double
    public var seed: Int

    public init(tasks: [String], failing: [String] = [], seconds: Double = 0, seed: Int = 0) {
        self.tasks = tasks
        self.failing = failing
        self.seconds = seconds
        self.seed = seed
    }

    public static let variant = "probe"

    public func stages() -> [any PipelineStage] {
        var out: [any PipelineStage] = []
        for t in tasks { out.append(ProbeStage(id: StageID(.ingest, task: t), dependencies: [], pipeline: self)) }
        let tokenizer = StageID(.tokenizer)
        out.append(ProbeStage(id: tokenizer, dependencies: tasks.map { StageID(.ingest, task: $0) }, pipeline: self))
        for t in tasks {
            out.append(ProbeStage(id: StageID(.train, task: t, variant: Self.variant),
                                  dependencies: [tokenizer, StageID(.ingest, task: t)], pipeline: self))
        }
        for t in tasks {
            out.append(ProbeStage(id: StageID(.evaluate, task: t, variant: Self.variant),
                                  dependencies: [tokenizer, StageID(.train, task: t, variant: Self.variant)], pipeline: self))
        }
        out.append(ProbeStage(id: StageID(.package, variant: Self.variant),
                              dependencies: tasks.map { StageID(.evaluate, task: $0, variant: Self.variant) }, pipeline: self))
        return out
    }
}

/// One probe stage: writes `out.txt` = a SHA-256 over its id, the seed and its inputs' `out.txt`,
/// and reports metrics derived from that hash (`probe.value` in [0, 1), and for `train` a
/// `train.loss` series of 7 steps).
struct ProbeStage: PipelineStage {
    let id: StageID
    let dependencies: [StageID]
    let pipeline: ProbePipeline

    func parameters() throws -> String {
        try CacheKey.canonicalJSON(Parameters(stage: id.description, seed: pipeline.seed,
                                              fails: id.kind == .train && pipeline.failing.contains(id.task ?? "")))
    }

    private struct Parameters: Codable {
        var stage: String
        var seed: Int
        var fails: Bool
    }

    func run(_ context: StageContext) throws -> StageResult {
        let steps = 7
        for step in 1 ... steps {
            context.progress(step: step - 1, of: steps)
            let until = Date().addingTimeInterval(pipeline.seconds / Double(steps))
            repeat {
                try context.checkCancelled()
                Thread.sleep(forTimeInterval: min(0.1, max(0, until.timeIntervalSinceNow)))
            } while Date() < until
            if id.kind == .train {
                context.metric("train.loss", Self.unit(Self.digest(id, seed: pipeline.seed, extra: "step \(step)")), step: step)
            }
        }
        if id.kind == .train, let task = id.task, pipeline.failing.contains(task) {
            throw StageFailure("probe task '\(task)' fails on purpose")
        }
        var text = "\(id)\nseed \(pipeline.seed)\n"
        for dep in dependencies.sorted() {
            let input = try context.input(dep)
            text += "\(dep) " + (try String(contentsOf: input.url("out.txt"), encoding: .utf8))
        }
        let hash = ContentHash.sha256(text)
        try AtomicFile.write(hash + "\n", to: context.outputFolder.appendingPathComponent("out.txt"))
        context.log("\(id) wrote \(hash)")
        return StageResult(metrics: ["probe.value": Self.unit(hash)], info: ["hash": hash])
    }

    static func digest(_ id: StageID, seed: Int, extra: String) -> String {
        ContentHash.sha256("\(id) \(seed) \(extra)")
    }

    /// The first 8 hex digits of a hash as a number in [0, 1).
    static func unit(_ hex: String) -> Double {
        Double(UInt32(hex.prefix(8), radix: 16) ?? 0) / 4_294_967_296
    }
}
