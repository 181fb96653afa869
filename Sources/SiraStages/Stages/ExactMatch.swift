import Foundation
import SiraPipeline
import SiraData
import SiraModel

/// Exact match of greedy completions: for each eval example, greedy generation after its prompt
/// (the tokens before its first scored token) until a stop token, `maxNewTokens`, or the model's
/// context is full; the decoded text matches when it equals the expected completion with
/// leading and trailing white space ignored.
enum ExactMatch {
    struct Prediction: Equatable {
        var generated: String
        var match: Bool
    }

    /// The first `expected.count` examples of `shard`. `afterExample(i, matchesSoFar)` runs after each.
    static func measure(_ model: LlamaModel, shard: TokenShard, expected: [String], maxNewTokens: Int, stop: Set<Int>,
                        decode: ([Int]) -> String, afterExample: (Int, Int) throws -> Void = { _, _ in }) throws -> [Prediction] {
        var out: [Prediction] = []
        var matches = 0
        for (i, wanted) in expected.enumerated() {
            let example = shard[i]
            let prompt = example.tokens.prefix(example.scoredFrom).map { Int($0) }
            let room = model.config.contextLength - prompt.count
            let produced = prompt.isEmpty || room <= 0 ? []
                : model.generate(prompt: prompt, maxTokens: min(maxNewTokens, room), stop: stop)
            let text = decode(produced)
            let match = normalized(text) == normalized(wanted)
            if match { matches += 1 }
            out.append(Prediction(generated: text, match: match))
            try afterExample(i, matches)
        }
        return out
    }

    /// The fraction of predictions that match (0 for none).
    static func rate(_ predictions: [Prediction]) -> Double {
        predictions.isEmpty ? 0 : Double(predictions.filter(\.match).count) / Double(predictions.count)
    }

    /// Exact match ignores leading and trailing white space only.
    static func normalized(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }
}
