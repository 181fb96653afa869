import SiraPipeline
import SiraData
import SiraModel

/// The held-out loss of a model on a task's eval shard, as both the evaluate stage and training's
/// periodic evaluation measure it: the first `count` examples, one example per row (16 rows per
/// forward, rows padded to the longest example), scored on their completion tokens, adapters in
/// evaluation mode. SiRA routing over those forwards is gathered per decoder layer (padding
/// positions are routed too, as the model sees them).
enum EvalLoss {
    struct Result: Equatable {
        var nllSum = 0.0
        var scored = 0
        var correct = 0
        var router = LayerRouterStatistics()

        /// Mean negative log-likelihood per scored token (nats); nan when nothing was scored.
        var loss: Double { scored > 0 ? nllSum / Double(scored) : .nan }
        /// Fraction of scored tokens whose argmax prediction is the target.
        var tokenAccuracy: Double { scored > 0 ? Double(correct) / Double(scored) : 0 }
    }

    static let rowsPerBatch = 16

    /// `afterBatch(done)` runs after each forward with the number of examples scored so far.
    static func measure(_ model: LlamaModel, shard: TokenShard, count: Int, padID: Int32,
                        afterBatch: (Int) throws -> Void = { _ in }) throws -> Result {
        var result = Result()
        guard count > 0 else { return result }
        let longest = (0 ..< count).map { shard.length(of: $0) }.max()!
        let seq = max(1, min(longest - 1, model.config.contextLength))
        var done = 0
        for b in ShardBatcher.evaluationBatches(shard, batch: rowsPerBatch, seq: seq, padID: padID) {
            guard done < count else { break }
            let rows = min(b.batch, count - done)
            let batch = TokenBatch(batch: rows, seq: b.seq, tokens: Array(b.tokens.prefix(rows * b.seq)),
                                   targets: Array(b.targets.prefix(rows * b.seq)), lossMask: Array(b.lossMask.prefix(rows * b.seq)))
            let r = model.loss(batch, mode: .evaluation)
            result.nllSum += r.nllSum
            result.scored += r.tokens
            result.correct += r.correct
            result.router.add(model)
            done += rows
            try afterBatch(done)
        }
        return result
    }
}
