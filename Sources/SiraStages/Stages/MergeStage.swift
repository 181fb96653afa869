import Foundation
import SiraPipeline
import SiraIO
import SiraModel

/// `merge`: compares every evaluated variant per task (`Comparison`: seed replicas folded into
/// mean ± std, the deciding metric exact match where available, else eval loss) and selects what
/// the bundle ships: for each task the winning variant's best replica, and the best replica of
/// each multitask variant. Writes `selection.json` (the choice, with the numbers behind it and
/// the verdict sentences) and a copy of each chosen adapter's weights, so the bundle package
/// depends on this stage alone.
///
/// Every chosen plain LoRA is also folded into a copy of the base (`LoRAMerge`) and the merged
/// model's logits on a probe sequence are checked against the adapted model's: the stage fails
/// when they differ by more than fp32 rounding, and records the largest difference
/// (`merge.<entry>.max_logit_diff`). `sira-pipeline export B.sira --task T --merged DIR` writes
/// such a merged model.
struct MergeStage: PipelineStage {
    let tasks: [String]
    let variants: [AdapterVariant]
    /// The base, and every train and evaluate stage (the graph's edges).
    let dependencies: [StageID]

    var id: StageID { StageID(.merge) }

    static let selectionName = "selection.json"

    struct Parameters: Codable {
        var tasks: [String]
        var variants: [String]
        var kinds: [String]
    }

    func parameters() throws -> String {
        try CacheKey.canonicalJSON(Parameters(tasks: tasks, variants: variants.map(\.name), kinds: variants.map(\.kind.rawValue)))
    }

    /// What `selection.json` holds.
    struct Selection: Codable, Equatable {
        struct Choice: Codable, Equatable {
            /// The bundle entry (`<task>.<variant>`, or the multitask variant's name).
            var entry: String
            /// The manifest variant (no seed suffix) and the replica whose weights are shipped.
            var variant: String
            var replica: String
            var kind: String
            var tasks: [String]
            /// The replica's own evaluation metrics per task (`eval.` prefix dropped).
            var metrics: [String: [String: Double]]
            var config: AdapterConfig
        }

        /// Task → entry.
        var taskAdapters: [String: String]
        var choices: [Choice]
        var verdicts: [String]
    }

    func variant(_ name: String) -> AdapterVariant? { variants.first { $0.name == name } }

    func trained(_ replica: String, task: String) -> StageID {
        variant(replica)?.kind == .multitask ? StageID(.train, variant: replica) : StageID(.train, task: task, variant: replica)
    }

    func run(_ context: StageContext) throws -> StageResult {
        var results: [EvaluationResult] = []
        for dep in dependencies where dep.kind == .evaluate {
            results.append(EvaluationResult(task: dep.task!, variant: dep.variant!, metrics: try context.input(dep).metrics))
        }
        var kinds: [String: String] = [:]
        for v in variants { kinds[VariantName(parsing: v.name).variant] = v.kind.rawValue }
        let comparison = Comparison(results: results, architectures: kinds)

        func evalMetrics(_ task: String, _ replica: String) -> [String: Double] {
            var out: [String: Double] = [:]
            for (k, v) in results.first(where: { $0.task == task && $0.variant == replica })?.metrics ?? [:] where k.hasPrefix("eval.") {
                out[String(k.dropFirst("eval.".count))] = v
            }
            return out
        }
        func replicas(of name: String) -> [String] {
            variants.map(\.name).filter { VariantName(parsing: $0).variant == name }
        }
        var selection = Selection(taskAdapters: [:], choices: [], verdicts: comparison.verdicts.map(\.sentence))
        var metrics: [String: Double] = [:]
        var info: [String: String] = [:]
        var skipped: [String] = []
        for task in tasks {
            guard let winner = comparison.winners[task], let metric = comparison.decidingMetric(task: task) else {
                // A task too small to hold out an eval example: its adapters are trained, but
                // nothing says which is best, so it stays out of the bundle; the others go on.
                let reason = Comparison.notEvaluated(task)
                selection.verdicts.append(reason)
                info["skipped.\(task)"] = reason
                skipped.append(task)
                continue
            }
            // The replica that scored best (ties: lower eval loss, then name).
            let replica = replicas(of: winner).min { a, b in
                let ra = results.first { $0.task == task && $0.variant == a }?.metrics ?? [:]
                let rb = results.first { $0.task == task && $0.variant == b }?.metrics ?? [:]
                let (ma, mb) = (ra[metric.key] ?? .nan, rb[metric.key] ?? .nan)
                if ma != mb, ma.isFinite, mb.isFinite { return metric.isBetter(ma, than: mb) }
                let (la, lb) = (ra[EvaluationMetric.loss.key] ?? .infinity, rb[EvaluationMetric.loss.key] ?? .infinity)
                return la != lb ? la < lb : a < b
            }!
            let kind = variant(replica)!.kind
            let entry = kind == .multitask ? winner : "\(task).\(winner)"
            selection.taskAdapters[task] = entry
            if !selection.choices.contains(where: { $0.entry == entry }) {
                selection.choices.append(try choice(entry: entry, winner: winner, replica: replica, kind: kind,
                                                    tasks: kind == .multitask ? tasks : [task], context: context,
                                                    foldMetrics: &metrics, evalMetrics: evalMetrics))
            }
            info["winner.\(task)"] = "\(winner) (\(replica))"
            if let s = comparison.summary(task: task, variant: winner, metric: metric) {
                metrics["merge.\(task).\(metric.key)"] = s.mean
            }
        }
        // Every multitask variant ships too: its best replica by mean eval loss over the tasks.
        for name in Set(variants.filter { $0.kind == .multitask }.map { VariantName(parsing: $0.name).variant }).sorted()
            where !selection.choices.contains(where: { $0.entry == name }) {
            let replica = replicas(of: name).min { a, b in
                func mean(_ r: String) -> Double {
                    let losses = tasks.compactMap { t in results.first { $0.task == t && $0.variant == r }?.metrics[EvaluationMetric.loss.key] }
                    return losses.isEmpty ? .infinity : losses.reduce(0, +) / Double(losses.count)
                }
                return (mean(a), a) < (mean(b), b)
            }!
            selection.choices.append(try choice(entry: name, winner: name, replica: replica, kind: .multitask, tasks: tasks,
                                                context: context, foldMetrics: &metrics, evalMetrics: evalMetrics))
        }
        if selection.choices.isEmpty {
            throw StageFailure("no adapter could be evaluated: \(skipped.joined(separator: ", ")) have empty eval splits (add records or raise eval_fraction)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try encoder.encode(selection), to: context.outputFolder.appendingPathComponent(Self.selectionName))
        for line in selection.verdicts { context.log(line) }
        return StageResult(metrics: metrics, info: info)
    }

    private func choice(entry: String, winner: String, replica: String, kind: AdapterKind, tasks: [String], context: StageContext,
                        foldMetrics: inout [String: Double],
                        evalMetrics: (String, String) -> [String: Double]) throws -> Selection.Choice {
        let weights = try context.input(trained(replica, task: tasks[0])).url(TrainStage.weightsName)
        let target = context.outputFolder.appendingPathComponent("\(entry).safetensors")
        try HardLink.linkOrCopy(weights, to: target)
        var perTask: [String: [String: Double]] = [:]
        for t in tasks { perTask[t] = evalMetrics(t, replica) }
        let config = try SiraModel.AdapterFiles.config(of: weights)
        if config.type == .lora {
            let diff = try Self.foldCheck(base: try context.input(StageID(.base)).folder, config: config, weights: weights, threads: context.threads)
            context.log(String(format: "%@: LoRA folded into the base, max |logit difference| %.3g", entry, diff.maxDiff))
            foldMetrics["merge.\(entry).max_logit_diff"] = diff.maxDiff
        }
        return Selection.Choice(entry: entry, variant: winner, replica: replica, kind: kind.rawValue, tasks: tasks,
                                metrics: perTask, config: config)
    }

    /// The adapted model's and the merged model's logits on a probe sequence.
    struct FoldCheck {
        var maxDiff: Double
        var maxLogit: Double
    }

    /// Logits over 48 probe tokens (or the context, if shorter) must agree to 1e-4 of the
    /// largest logit magnitude (at least 1e-4 absolute): fp32 rounding of `(W + sBA)x` against
    /// `Wx + sB(Ax)` is orders of magnitude below; a wrong fold (a scale, a transpose) far above.
    static func foldCheck(base: URL, config: AdapterConfig, weights: URL, threads: Int) throws -> FoldCheck {
        let model = try LlamaModel.load(model: base)
        model.threads = threads
        let set = try AdapterSet(config: config, seed: 0)
        set.attach(to: model)
        try AdapterFiles.load(into: set, from: weights)
        let n = min(48, model.config.contextLength)
        let tokens = (0 ..< n).map { Int32(($0 &* 7919 &+ 13) % model.config.vocabSize) }
        let adapted = model.logits(tokens: tokens, batch: 1, seq: n).array
        try LoRAMerge.fold(model)
        let merged = model.logits(tokens: tokens, batch: 1, seq: n).array
        var check = FoldCheck(maxDiff: 0, maxLogit: 0)
        for (a, m) in zip(adapted, merged) {
            check.maxDiff = max(check.maxDiff, Double(abs(a - m)))
            check.maxLogit = max(check.maxLogit, Double(abs(a)))
        }
        let tolerance = 1e-4 * max(1, check.maxLogit)
        guard check.maxDiff <= tolerance else {
            throw StageFailure(String(format: "the LoRA folded into the base gives logits %.3g away from the adapted model's (tolerance %.3g)",
                                      check.maxDiff, tolerance))
        }
        return check
    }
}
