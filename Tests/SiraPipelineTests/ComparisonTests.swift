import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

@Suite struct ComparisonTests {
    @Test func seedSuffixesSplitOnlyWhenWellFormed() {
        #expect(VariantName(parsing: "sira~s12") == VariantName(variant: "sira", seed: 12))
        #expect(VariantName(parsing: "sira-e16~s0") == VariantName(variant: "sira-e16", seed: 0))
        #expect(VariantName(parsing: "sira") == VariantName(variant: "sira"))
        #expect(VariantName(parsing: "sira~sx") == VariantName(variant: "sira~sx"))
        #expect(VariantName(parsing: "~s3") == VariantName(variant: "~s3"))
        #expect(VariantName(variant: "lora", seed: 7).description == "lora~s7")
    }

    /// Mean and sample standard deviation (n − 1) against values worked out by hand.
    @Test func seedSummaryIsMeanAndSampleStd() throws {
        let a = try #require(SeedSummary([1, 2, 4]))
        // mean 7/3; squared deviations (16 + 1 + 25)/9 = 42/9; / (n-1) = 7/3; sqrt = 1.527525...
        #expect(abs(a.mean - 7.0 / 3.0) < 1e-15)
        #expect(abs(a.std! - (7.0 / 3.0).squareRoot()) < 1e-15)
        #expect(a.formatted(.loss) == "2.333 ± 1.528")

        let one = try #require(SeedSummary([0.25]))
        #expect(one.std == nil)
        #expect(one.formatted(.exactMatch) == "0.250")

        let withNaN = try #require(SeedSummary([0.5, .nan, 0.7, .infinity]))
        #expect(withNaN.count == 2 && withNaN.missing == 2)
        #expect(abs(withNaN.mean - 0.6) < 1e-15)
        #expect(SeedSummary([.nan]) == nil)
    }

    func results() -> [EvaluationResult] {
        var out: [EvaluationResult] = []
        func add(_ task: String, _ variant: String, em: Double?, loss: Double) {
            var m = ["eval.loss": loss, "eval.perplexity": exp(loss)]
            if let em { m["eval.exact_match"] = em }
            out.append(EvaluationResult(task: task, variant: variant, metrics: m))
        }
        // arith: lora 0.6/0.7/0.8 beats sira 0.5/0.6/0.7 by 0.1 (std 0.1 each: within spread).
        for (seed, (l, s)) in [(0.6, 0.5), (0.7, 0.6), (0.8, 0.7)].enumerated() {
            add("arith", "lora~s\(seed)", em: l, loss: 1.0)
            add("arith", "sira~s\(seed)", em: s, loss: 1.2)
        }
        add("arith", "base", em: 0.1, loss: 3)
        // dates: sira wins clearly (0.9 vs 0.5, one replica each: spread unknown).
        add("dates", "lora", em: 0.5, loss: 0.8)
        add("dates", "sira", em: 0.9, loss: 0.4)
        add("dates", "base", em: 0.95, loss: 0.2)
        // text: no exact match; decided by eval loss; lora and sira tie, multitask wins.
        add("text", "lora", em: nil, loss: 2.0)
        add("text", "sira", em: nil, loss: 2.0)
        add("text", "multitask", em: nil, loss: 1.5)
        return out
    }

    @Test func verdictsSayWhoWinsByHowMuchAndWhenSiraLoses() throws {
        let c = Comparison(results: results(), architectures: ["lora": "lora", "sira": "sira", "multitask": "multitask"])
        #expect(c.variants == ["base", "lora", "sira", "multitask"])
        #expect(c.tasks == ["arith", "dates", "text"])
        let em = try #require(c.summary(task: "arith", variant: "lora", metric: .exactMatch))
        #expect(abs(em.mean - 0.7) < 1e-12 && abs(em.std! - 0.1) < 1e-12)
        #expect(c.seeds(task: "arith", variant: "sira", metric: .exactMatch) == [0, 1, 2])

        let arith = try #require(c.verdict(task: "arith"))
        #expect(arith.metric == .exactMatch && arith.winner == "lora" && arith.runnerUp == "sira")
        #expect(abs(arith.margin! - 0.1) < 1e-12)
        #expect(arith.withinNoise)
        #expect(!arith.siraWins && abs(arith.siraMargin! + 0.1) < 1e-12)
        #expect(arith.sentence.contains("lora wins on exact match with 0.700 ± 0.100 (3 seeds), 0.100 ahead of sira (0.600 ± 0.100)"))
        #expect(arith.sentence.contains("within the seeds' spread"))
        #expect(arith.sentence.contains("SiRA (sira) loses to lora by 0.100."))
        #expect(arith.sentence.contains("Base without adapter: 0.100."))

        let dates = try #require(c.verdict(task: "dates"))
        #expect(dates.winner == "sira" && dates.siraWins && !dates.withinNoise)
        #expect(dates.sentence.contains("SiRA (sira) beats the best non-SiRA variant (lora) by 0.400."))
        #expect(dates.sentence.contains("No adapter beats the base without adapter (0.950)."))

        let text = try #require(c.verdict(task: "text"))
        #expect(text.metric == .loss && text.winner == "multitask")
        #expect(c.ranking(task: "text") == ["multitask", "lora", "sira"])  // tie broken by name
        #expect(text.sentence.contains("SiRA (sira) loses to multitask by 0.500."))
        #expect(c.winners == ["arith": "lora", "dates": "sira", "text": "multitask"])
    }

    @Test func tieOnTheDecidingMetricIsBrokenByEvalLossAndSaidSo() throws {
        let c = Comparison(results: [
            EvaluationResult(task: "t", variant: "lora", metrics: ["eval.exact_match": 1, "eval.loss": 0.3]),
            EvaluationResult(task: "t", variant: "sira", metrics: ["eval.exact_match": 1, "eval.loss": 0.2]),
        ], architectures: ["sira": "sira", "lora": "lora"])
        let v = try #require(c.verdict(task: "t"))
        #expect(v.winner == "sira" && v.tiedOnMetric)
        #expect(v.sentence.contains("tied with lora and ahead on eval loss (0.200 vs 0.300)"))
        // A tie is said as a tie, never as a win "by 0.000".
        #expect(v.sentence.contains("SiRA (sira) ties with lora on exact match; on eval loss it is ahead by 0.100."))
        #expect(!v.sentence.contains("by 0.000"))
    }

    /// The printed table: base first, then best first; the winner starred; every other row's
    /// distance to the winner on the deciding metric, negative when worse (values by hand).
    @Test func tableRowsRankStarAndMeasureTheDistanceToTheWinner() throws {
        let c = Comparison(results: results(), architectures: ["lora": "lora", "sira": "sira", "multitask": "multitask"])
        let t = ComparisonTable(c, parameters: ["lora": 336, "sira": 12288])
        #expect(t.header == ["task", "variant", "kind", "seeds", "params", "exact match", "eval loss", "perplexity", "vs winner"])
        let arith = t.rows.filter { $0[0] == "arith" }
        #expect(arith.map { $0[1] } == ["base", "★ lora", "sira"])
        #expect(arith[1][3] == "3" && arith[1][4] == "336" && arith[1][5] == "0.700 ± 0.100" && arith[1][8] == "winner (exact match)")
        #expect(arith[2][8] == "-0.100" && arith[0][8] == "-0.600" && arith[0][4] == "0")
        let text = t.rows.filter { $0[0] == "text" }
        // Decided by eval loss (lower is better): lora 2.0 is 0.5 worse than multitask 1.5.
        #expect(text.map { $0[1] } == ["★ multitask", "lora", "sira"])
        #expect(text[1][8] == "-0.500" && text[0][5] == "-" && text[0][4] == "-")
        #expect(t.verdicts.count == 3)
    }

    /// Every adapter at 0.000 exact match: exact match says nothing, so eval loss decides, the
    /// sentence says no adapter learned the task, and the report stars no one on exact match.
    @Test func noAdapterLearnedTheTaskIsSaidPlainly() throws {
        var rows: [EvaluationResult] = []
        for (variant, loss) in [("lora", 2.0), ("sira", 1.5), ("lora-wide", 1.8)] {
            for seed in 0..<2 {
                rows.append(EvaluationResult(task: "t", variant: "\(variant)~s\(seed)",
                                             metrics: ["eval.exact_match": 0, "eval.loss": loss + Double(seed) * 0.01]))
            }
        }
        rows.append(EvaluationResult(task: "t", variant: "base", metrics: ["eval.exact_match": 0, "eval.loss": 3]))
        let c = Comparison(results: rows, architectures: ["lora": "lora", "lora-wide": "lora", "sira": "sira"])
        #expect(c.decidingMetric(task: "t") == .loss)
        #expect(c.noneLearned(task: "t"))
        let v = try #require(c.verdict(task: "t"))
        #expect(v.winner == "sira" && !v.tiedOnMetric)
        #expect(v.sentence.hasPrefix("t: no adapter learned the task (every one scores 0.000 exact match); on eval loss, sira is best"), "\(v.sentence)")
        #expect(!v.sentence.contains("tied with"))

        // One adapter above zero: exact match decides again.
        rows.append(EvaluationResult(task: "t", variant: "lora~s2", metrics: ["eval.exact_match": 0.3, "eval.loss": 2.1]))
        let d = Comparison(results: rows, architectures: ["lora": "lora", "lora-wide": "lora", "sira": "sira"])
        #expect(d.decidingMetric(task: "t") == .exactMatch && !d.noneLearned(task: "t"))
        #expect(d.verdict(task: "t")?.winner == "lora")
    }
}
