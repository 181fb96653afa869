import Foundation
import SiraIO
import SiraModel

/// `merge`: compares every evaluated variant per task (`Comparison`: seed replicas folded into
/// mean ± std, the deciding metric exact match where available, else eval loss) and selects what
/// the bundle ships: for each task the winning variant's best replica, and the best replica of
/// each multitask variant. Writes `selection.json` (the choice, with the numbers behind it and
/// the verdict sentences) and a copy of each chosen adapter's weights, so the bundle package
/// depends on this stage alone.
struct MergeStage: PipelineStage {
    let tasks: [String]
    let variants: [AdapterVariant]
    /// Every train and evaluate stage (the graph's edges).
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
        for task in tasks {
            guard let winner = comparison.winners[task], let metric = comparison.decidingMetric(task: task) else {
                throw StageFailure("no evaluated adapter for task \(task)")
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
                                                    tasks: kind == .multitask ? tasks : [task], context: context, evalMetrics: evalMetrics))
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
                                                context: context, evalMetrics: evalMetrics))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try encoder.encode(selection), to: context.outputFolder.appendingPathComponent(Self.selectionName))
        for line in selection.verdicts { context.log(line) }
        return StageResult(metrics: metrics, info: info)
    }

    private func choice(entry: String, winner: String, replica: String, kind: AdapterKind, tasks: [String], context: StageContext,
                        evalMetrics: (String, String) -> [String: Double]) throws -> Selection.Choice {
        let weights = try context.input(trained(replica, task: tasks[0])).url(TrainStage.weightsName)
        let target = context.outputFolder.appendingPathComponent("\(entry).safetensors")
        do { try FileManager.default.linkItem(at: weights, to: target) } catch {
            try FileManager.default.copyItem(at: weights, to: target)
        }
        var perTask: [String: [String: Double]] = [:]
        for t in tasks { perTask[t] = evalMetrics(t, replica) }
        return Selection.Choice(entry: entry, variant: winner, replica: replica, kind: kind.rawValue, tasks: tasks,
                                metrics: perTask, config: try SiraModel.AdapterFiles.config(of: weights))
    }
}
