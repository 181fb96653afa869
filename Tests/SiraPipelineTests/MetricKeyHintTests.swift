import Testing
@testable import sira_pipeline

/// The unknown-metric message: suggestions by suffix and edit distance, large families folded.
@Suite struct MetricKeyHintTests {
    /// A 30-layer SiRA run's key set: a few scalar keys and 30 × (8 loads + 2) router keys.
    let keys: [String] = ["train.loss", "eval.loss", "eval.exact_match", "router.entropy"]
        + (0..<30).flatMap { l in (0..<8).map { "eval.router.L\(l).load.e\($0)" } + ["eval.router.L\(l).entropy", "eval.router.L\(l).dropped_fraction"] }

    @Test func suffixMatchesComeFirst() {
        #expect(MetricKeyHint.closest(to: "loss", in: keys) == ["eval.loss", "train.loss"])
        #expect(MetricKeyHint.closest(to: "exact_match", in: keys) == ["eval.exact_match"])
    }

    @Test func typosFindTheKeyByEditDistance() {
        #expect(MetricKeyHint.closest(to: "train.los", in: keys) == ["train.loss"])
        #expect(MetricKeyHint.closest(to: "qqqqqqq", in: keys).isEmpty)
        #expect(MetricKeyHint.editDistance("kitten", "sitting") == 3)
        #expect(MetricKeyHint.editDistance("", "abc") == 3)
    }

    @Test func largeFamiliesAreFolded() {
        let grouped = MetricKeyHint.grouped(keys)
        #expect(grouped.contains("eval.router.* (300 keys)"))
        #expect(grouped.contains("train.loss") && grouped.contains("eval.loss") && grouped.contains("router.entropy"))
        #expect(grouped.count == 5)
        let message = MetricKeyHint.message(for: "loss", known: keys)
        #expect(message.count < 200, "\(message)")
    }
}
