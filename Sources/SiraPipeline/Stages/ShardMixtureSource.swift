import SiraData
import SiraModel

/// The trainer's batches over one or more token shards (SiraData's `ShardBatcher` does the
/// packing within each shard). With several shards (multitask training, a multi-task base
/// corpus) each row comes from one shard, chosen with probability proportional to its token
/// count by a generator keyed on (seed, row number), so the mixture is reproducible and needs no
/// state beyond the row count and each shard's cursor.
///
/// The cursor is the whole state: restoring it continues the stream exactly (resumable training).
public final class ShardMixtureSource: BatchSource {
    public struct Cursor: Codable, Equatable, Sendable {
        public var rows: UInt64
        public var shards: [ShardBatcher.Cursor]
    }

    public let batch: Int
    public let seq: Int
    public let seed: UInt64
    private let batchers: [ShardBatcher]
    /// Cumulative token counts, for the proportional choice.
    private let cumulative: [UInt64]
    private var rows: UInt64 = 0

    public init(shards: [TokenShard], batch: Int, seq: Int, seed: UInt64, padID: Int32,
                packing: ShardBatcher.Packing = .packed) throws {
        precondition(!shards.isEmpty, "a mixture needs a shard")
        self.batch = batch
        self.seq = seq
        self.seed = seed
        batchers = try shards.enumerated().map { i, shard in
            try ShardBatcher(shard: shard, batch: 1, seq: seq, packing: packing, seed: seed &+ UInt64(i), padID: padID)
        }
        var total: UInt64 = 0
        cumulative = shards.map { total += UInt64($0.tokenCount); return total }
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
        var tokens: [Int32] = [], targets: [Int32] = [], mask: [Float] = []
        tokens.reserveCapacity(batch * seq)
        targets.reserveCapacity(batch * seq)
        mask.reserveCapacity(batch * seq)
        for _ in 0 ..< batch {
            let row = batchers[shardIndex(forRow: rows)].next()
            rows += 1
            tokens += row.tokens
            targets += row.targets
            mask += row.lossMask
        }
        return TokenBatch(batch: batch, seq: seq, tokens: tokens, targets: targets, lossMask: mask)
    }
}
