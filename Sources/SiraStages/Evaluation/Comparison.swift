import Foundation
import SiraPipeline

/// The final evaluation metrics of one evaluate stage.
public struct EvaluationResult: Sendable, Equatable {
    public var task: String
    /// The stage's variant as recorded: `base`, `sira`, `sira~s1`, ...
    public var variant: String
    public var metrics: [String: Double]

    public init(task: String, variant: String, metrics: [String: Double]) {
        self.task = task
        self.variant = variant
        self.metrics = metrics
    }
}

/// The variants of a run side by side per task, seed replicas folded into mean ± std, and the
/// verdict per task: which variant wins, by how much, whether that is more than the seeds' spread,
/// and how SiRA fared — also when it lost.
///
/// The base model (variant `base`) is shown but does not compete: the winner is the adapter a
/// user would ship. The deciding metric of a task is exact match when every competing variant has
/// it (prompt/completion tasks evaluated with generation), eval loss otherwise; ties on it are
/// broken by eval loss, then by name.
public struct Comparison: Sendable {
    public let tasks: [String]
    /// `base` first, then by architecture (LoRA, MoLoRA, SiRA, multitask, others — the paper's
    /// order), then by name.
    public let variants: [String]
    /// Variant → architecture word (`lora`, `molora`, `sira`, `multitask`), where known.
    public let architectures: [String: String]
    private let cells: [CellKey: SeedSummary]
    private let seeds: [CellKey: [Int?]]

    private struct CellKey: Hashable { var task: String, variant: String, metric: String }

    /// `architectures`: variant (without seed suffix) → kind; used to name SiRA in the verdicts.
    public init(results: [EvaluationResult], architectures: [String: String] = [:]) {
        var tasks: [String] = [], variants: [String] = []
        var raw: [CellKey: [(seed: Int?, value: Double)]] = [:]
        for r in results {
            let name = VariantName(parsing: r.variant)
            if !tasks.contains(r.task) { tasks.append(r.task) }
            if !variants.contains(name.variant) { variants.append(name.variant) }
            for (key, value) in r.metrics {
                raw[CellKey(task: r.task, variant: name.variant, metric: key), default: []].append((name.seed, value))
            }
        }
        let rank = ["lora": 1, "molora": 2, "sira": 3, "multitask": 4]
        variants.sort { a, b in
            func key(_ v: String) -> (Int, String) { (v == StageID.baseVariant ? 0 : rank[architectures[v] ?? ""] ?? 5, v) }
            return key(a) < key(b)
        }
        var cells: [CellKey: SeedSummary] = [:], seeds: [CellKey: [Int?]] = [:]
        for (key, list) in raw {
            let sorted = list.sorted { ($0.seed ?? -1) < ($1.seed ?? -1) }
            if let s = SeedSummary(sorted.map(\.value)) { cells[key] = s }
            seeds[key] = sorted.map(\.seed)
        }
        self.tasks = tasks
        self.variants = variants
        self.architectures = architectures
        self.cells = cells
        self.seeds = seeds
    }

    public func summary(task: String, variant: String, metric: EvaluationMetric) -> SeedSummary? {
        cells[CellKey(task: task, variant: variant, metric: metric.key)]
    }

    /// The seeds of the replicas behind a cell (nil entries: a replica without seed suffix).
    public func seeds(task: String, variant: String, metric: EvaluationMetric) -> [Int?] {
        seeds[CellKey(task: task, variant: variant, metric: metric.key)] ?? []
    }

    /// The competing variants of a task (everything evaluated except the base).
    public func contenders(task: String) -> [String] {
        variants.filter { v in v != StageID.baseVariant && EvaluationMetric.all.contains { summary(task: task, variant: v, metric: $0) != nil } }
    }

    /// Exact match when every contender has it, else eval loss (when every contender has it).
    /// Exact match that is 0 for every contender (no adapter learned the task) carries no
    /// information, so eval loss decides then; a tie above 0 is still a tie on exact match.
    public func decidingMetric(task: String) -> EvaluationMetric? {
        let list = contenders(task: task)
        guard !list.isEmpty else { return nil }
        for metric in [EvaluationMetric.exactMatch, .loss, .tokenAccuracy] {
            let means = list.compactMap { summary(task: task, variant: $0, metric: metric)?.mean }
            guard means.count == list.count else { continue }
            if metric == .exactMatch, list.count > 1, means.allSatisfy({ $0 == 0 }),
               list.allSatisfy({ summary(task: task, variant: $0, metric: .loss) != nil }) { continue }
            return metric
        }
        return nil
    }

    /// Every contender has exact match and it is 0 for all: no adapter learned the task.
    public func noneLearned(task: String) -> Bool {
        let list = contenders(task: task)
        return !list.isEmpty && list.allSatisfy { summary(task: task, variant: $0, metric: .exactMatch)?.mean == 0 }
    }

    /// Contenders best first under the deciding metric (eval loss, then name break ties).
    public func ranking(task: String) -> [String] {
        guard let metric = decidingMetric(task: task) else { return [] }
        return contenders(task: task).sorted { a, b in
            let (ma, mb) = (summary(task: task, variant: a, metric: metric)!.mean, summary(task: task, variant: b, metric: metric)!.mean)
            if ma != mb { return metric.isBetter(ma, than: mb) }
            let (la, lb) = (summary(task: task, variant: a, metric: .loss)?.mean, summary(task: task, variant: b, metric: .loss)?.mean)
            if let la, let lb, la != lb { return la < lb }
            return a < b
        }
    }

    /// The winner of each task (the variant a bundle ships for it).
    public var winners: [String: String] {
        var out: [String: String] = [:]
        for t in tasks { if let w = ranking(task: t).first { out[t] = w } }
        return out
    }

    public func verdict(task: String) -> TaskVerdict? {
        guard let metric = decidingMetric(task: task) else { return nil }
        let ranked = ranking(task: task)
        guard let winner = ranked.first else { return nil }
        func s(_ v: String) -> SeedSummary { summary(task: task, variant: v, metric: metric)! }
        let runnerUp = ranked.dropFirst().first
        let isSira = { (v: String) in self.architectures[v] == "sira" }
        let bestSira = ranked.first(where: isSira)
        let bestOther = ranked.first { !isSira($0) }
        func loss(_ v: String?) -> SeedSummary? { v.flatMap { summary(task: task, variant: $0, metric: .loss) } }
        return TaskVerdict(
            task: task, metric: metric, winner: winner, winnerSummary: s(winner),
            runnerUp: runnerUp, runnerUpSummary: runnerUp.map(s),
            tiedOnMetric: runnerUp.map { s($0).mean == s(winner).mean } ?? false,
            noneLearned: noneLearned(task: task),
            base: summary(task: task, variant: StageID.baseVariant, metric: metric),
            sira: bestSira, siraSummary: bestSira.map(s), bestOther: bestOther, bestOtherSummary: bestOther.map(s),
            losses: [winner, runnerUp, bestSira, bestOther].compactMap { $0 }.reduce(into: [:]) { $0[$1] = loss($1) }
        )
    }

    public var verdicts: [TaskVerdict] { tasks.compactMap { verdict(task: $0) } }

    /// The verdict of a task whose evaluations produced no metric: one too small to hold out an
    /// eval example. Merge leaves it out of the bundle; the run goes on.
    public static func notEvaluated(_ task: String) -> String {
        "\(task): no adapter could be evaluated (its eval split is empty: too few records for its eval_fraction); trained, not in the bundle"
    }
}

/// What the comparison says about one task, in numbers and in one plain paragraph.
public struct TaskVerdict: Sendable, Equatable {
    public var task: String
    public var metric: EvaluationMetric
    public var winner: String
    public var winnerSummary: SeedSummary
    public var runnerUp: String?
    public var runnerUpSummary: SeedSummary?
    /// The winner only won on the tie-break (eval loss).
    public var tiedOnMetric: Bool
    /// Every adapter scored 0 exact match: the verdict is on eval loss, and says so first.
    public var noneLearned: Bool = false
    public var base: SeedSummary?
    /// The best SiRA-architecture variant and the best of the others (nil when there is none).
    public var sira: String?
    public var siraSummary: SeedSummary?
    public var bestOther: String?
    public var bestOtherSummary: SeedSummary?
    /// Eval loss of the variants named above, for explaining a tie on the deciding metric.
    public var losses: [String: SeedSummary] = [:]

    /// How far the winner is ahead of the runner-up, positive in the metric's better direction.
    public var margin: Double? {
        guard let r = runnerUpSummary else { return nil }
        return metric.higherIsBetter ? winnerSummary.mean - r.mean : r.mean - winnerSummary.mean
    }

    /// The margin is no larger than the larger of the two standard deviations: the seeds disagree
    /// as much as the variants do. False when either has a single replica (spread unknown).
    public var withinNoise: Bool {
        guard let margin, let a = winnerSummary.std, let b = runnerUpSummary?.std else { return false }
        return margin <= max(a, b)
    }

    /// SiRA's standing: positive when the best SiRA variant beats the best non-SiRA one.
    public var siraMargin: Double? {
        guard let s = siraSummary, let o = bestOtherSummary else { return nil }
        return metric.higherIsBetter ? s.mean - o.mean : o.mean - s.mean
    }

    public var siraWins: Bool { sira != nil && sira == winner }

    /// e.g. "dates: sira wins on exact match with 0.640 ± 0.020 (3 seeds), 0.030 ahead of lora
    /// (0.610 ± 0.010); the margin is within the seeds' spread. SiRA (sira) beats the best
    /// non-SiRA variant (lora) by 0.030. Base without adapter: 0.100." A tie on the deciding
    /// metric is said as a tie, with the eval losses that broke it.
    public var sentence: String {
        let m = metric
        var out = noneLearned
            ? "\(task): no adapter learned the task (every one scores 0.000 exact match); on \(m.title), \(winner) is best with \(winnerSummary.formatted(m))"
            : "\(task): \(winner) wins on \(m.title) with \(winnerSummary.formatted(m))"
        if winnerSummary.count > 1 { out += " (\(winnerSummary.count) seeds)" }
        if let r = runnerUp, let rs = runnerUpSummary, let margin {
            if tiedOnMetric {
                out += ", tied with \(r) and ahead on eval loss"
                if let wl = losses[winner], let rl = losses[r] {
                    out += " (\(wl.formatted(.loss)) vs \(rl.formatted(.loss)))"
                }
            } else {
                out += ", \(MetricFormat.value(margin, m)) ahead of \(r) (\(rs.formatted(m)))"
            }
            if withinNoise { out += "; the margin is within the seeds' spread" }
        } else {
            out += " (the only variant)"
        }
        out += "."
        if let sira, let siraMargin, let other = bestOther {
            if siraMargin > 0 {
                out += sira == winner ? " SiRA (\(sira)) beats the best non-SiRA variant (\(other)) by \(MetricFormat.value(siraMargin, m))."
                    : " SiRA (\(sira)) is ahead of the best non-SiRA variant (\(other)) by \(MetricFormat.value(siraMargin, m))."
            } else if siraMargin < 0 {
                out += " SiRA (\(sira)) loses to \(other) by \(MetricFormat.value(-siraMargin, m))."
            } else {
                out += " SiRA (\(sira)) ties with \(other) on \(m.title)"
                if m != .loss, let sl = losses[sira], let ol = losses[other], sl.mean != ol.mean {
                    let d = ol.mean - sl.mean
                    out += "; on eval loss it is \(d > 0 ? "ahead" : "behind") by \(MetricFormat.value(abs(d), .loss))"
                }
                out += "."
            }
        }
        if let base {
            if m.isBetter(winnerSummary.mean, than: base.mean) {
                out += " Base without adapter: \(base.formatted(m))."
            } else {
                out += " No adapter beats the base without adapter (\(base.formatted(m)))."
            }
        }
        return out
    }
}
