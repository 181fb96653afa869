import SiraIO
import Foundation
import SiraPipeline
import SiraData
import SiraModel

/// The trainer's batches over one or more token shards (SiraData's `ShardBatcher` does the
/// packing within each shard). With several shards (multitask training, a multi-task base
/// corpus) each row comes from one shard, chosen by a generator keyed on (seed, row number), so
/// the mixture is reproducible and needs no state beyond the row count and each shard's cursor.
/// Shard i is chosen with probability ∝ tokens_i^(1/temperature): temperature 1 is in
/// proportion to size; higher temperatures flatten the mixture towards uniform, so small tasks
/// are not drowned by large ones (temperature-sampled multitask mixing).
///
/// The cursor is the whole state: restoring it continues the stream exactly (resumable training).
///
/// `scoreEveryToken` (pretraining a base) scores every target but padding, prompts included: a
/// base pretrained with the adapters' prompt mask never learns the prompt tokens it will read.
public final class ShardMixtureSource: BatchSource {
    public struct Cursor: Codable, Equatable, Sendable {
        public var rows: UInt64
        public var shards: [ShardBatcher.Cursor]
    }

    public let batch: Int
    public let seq: Int
    public let seed: UInt64
    private let batchers: [ShardBatcher]
    /// Cumulative sampling weights (token counts at temperature 1).
    private let cumulative: [UInt64]
    private var rows: UInt64 = 0
    private let padID: Int32
    private let scoreEveryToken: Bool

    public init(shards: [TokenShard], batch: Int, seq: Int, seed: UInt64, padID: Int32,
                packing: ShardBatcher.Packing = .packed, temperature: Double = 1,
                scoreEveryToken: Bool = false) throws {
        precondition(!shards.isEmpty, "a mixture needs a shard")
        self.padID = padID
        self.scoreEveryToken = scoreEveryToken
        self.batch = batch
        self.seq = seq
        self.seed = seed
        batchers = try shards.enumerated().map { i, shard in
            try ShardBatcher(shard: shard, batch: 1, seq: seq, packing: packing, seed: seed &+ UInt64(i), padID: padID)
        }
        cumulative = Self.cumulativeWeights(tokenCounts: shards.map(\.tokenCount), temperature: temperature)
    }

    /// Running sums of the sampling weights: token counts at temperature 1 (exactly), else
    /// tokens^(1/T) scaled to integers out of 2^52 (each at least 1).
    static func cumulativeWeights(tokenCounts: [Int], temperature: Double) -> [UInt64] {
        var total: UInt64 = 0
        if temperature == 1 {
            return tokenCounts.map { total += UInt64($0); return total }
        }
        let weights = tokenCounts.map { pow(Double($0), 1 / temperature) }
        let sum = weights.reduce(0, +)
        return weights.map { w in
            total += max(1, UInt64((w / sum * 4_503_599_627_370_496).rounded()))
            return total
        }
    }

    public var cursor: Cursor { Cursor(rows: rows, shards: batchers.map(\.cursor)) }

    public func restore(_ cursor: Cursor) throws {
        guard cursor.shards.count == batchers.count else {
            throw StageFailure("batch cursor has \(cursor.shards.count) shards, this source \(batchers.count)")
        }
        for (b, c) in zip(batchers, cursor.shards) { try b.restore(c) }
        rows = cursor.rows
    }

    /// The shard row `row` is taken from.
    func shardIndex(forRow row: UInt64) -> Int {
        guard batchers.count > 1 else { return 0 }
        var rng = SplitMix64(seed: seed ^ (row &* 0xD1B5_4A32_D192_ED03))
        let pick = rng.next(below: cumulative.last!)
        return cumulative.firstIndex { pick < $0 }!
    }

    public func nextBatch() throws -> TokenBatch {
        var tokens: [Int32] = [], targets: [Int32] = [], mask: [Float] = [], positions: [Int32] = []
        var packed = false
        tokens.reserveCapacity(batch * seq)
        targets.reserveCapacity(batch * seq)
        mask.reserveCapacity(batch * seq)
        for _ in 0 ..< batch {
            let row = batchers[shardIndex(forRow: rows)].next()
            rows += 1
            tokens += row.tokens
            targets += row.targets
            mask += scoreEveryToken ? row.targets.map { $0 == padID ? 0 : 1 } : row.lossMask
            if row.positions.isEmpty { positions += (0..<Int32(seq)) } else { positions += row.positions; packed = true }
        }
        return TokenBatch(batch: batch, seq: seq, tokens: tokens, targets: targets, lossMask: mask, positions: packed ? positions : nil)
    }
}
