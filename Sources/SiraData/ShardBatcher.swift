/// A batch of fixed-length rows for the trainer (maps one to one onto SiraModel's `TokenBatch`):
/// row-major `batch × seq`; position t of row b reads `tokens[b·seq + t]` and predicts
/// `targets[b·seq + t]` with weight `lossMask[b·seq + t]` (0 for prompt, bos and padding).
public struct ShardBatch: Sendable, Equatable {
    public var batch: Int
    public var seq: Int
    public var tokens: [Int32]
    public var targets: [Int32]
    public var lossMask: [Float]
    /// Each input position's place in its own example (0 where an example starts): with `.packed`
    /// rows, several examples share a row and each must attend only to itself, with positions
    /// restarting. Empty when every row is one sequence (`.padded`, `.continuous`).
    public var positions: [Int32] = []
}

/// Cuts a token shard into training batches, deterministically: each epoch visits the examples
/// in `SeededShuffle.permutation(count:seed:epoch:)` order (or in shard order without shuffling),
/// and each row holds `seq + 1` tokens (inputs are the first `seq`, targets the last `seq`).
///
/// Packing modes:
/// - `.packed` — examples back to back; one that does not fit in the rest of a row starts the
///   next row (the rest is padding), one longer than a row is cut to the row;
/// - `.padded` — one example per row, cut or padded;
/// - `.continuous` — one endless stream: an example that does not fit continues in the next row
///   (for language modelling, no token wasted).
/// The `cursor` is the whole state; `restore` continues the stream exactly (resumable training).
public final class ShardBatcher {
    public enum Packing: String, Sendable, CaseIterable { case packed, padded, continuous }

    public struct Cursor: Sendable, Equatable, Codable {
        public var epoch: Int
        /// Index into the epoch's order of the next example to read.
        public var position: Int
        /// Tokens of that example already used (continuous packing only).
        public var offset: Int

        public init(epoch: Int = 0, position: Int = 0, offset: Int = 0) {
            self.epoch = epoch
            self.position = position
            self.offset = offset
        }
    }

    public let shard: TokenShard
    public let batch: Int
    public let seq: Int
    public let packing: Packing
    public let seed: UInt64
    public let shuffle: Bool
    public let padID: Int32
    public private(set) var cursor = Cursor()
    private var order: [Int] = []

    public init(shard: TokenShard, batch: Int, seq: Int, packing: Packing = .packed, seed: UInt64, shuffle: Bool = true, padID: Int32) throws {
        guard shard.count > 0, shard.tokenCount > 0 else { throw TokenShardError.bad(shard.folder.path, "the shard holds no tokens") }
        precondition(batch > 0 && seq > 0, "batch and seq must be positive")
        self.shard = shard
        self.batch = batch
        self.seq = seq
        self.packing = packing
        self.seed = seed
        self.shuffle = shuffle
        self.padID = padID
        order = makeOrder(epoch: 0)
    }

    private func makeOrder(epoch: Int) -> [Int] {
        shuffle ? SeededShuffle.permutation(count: shard.count, seed: seed, epoch: epoch) : Array(0 ..< shard.count)
    }

    public func restore(_ cursor: Cursor) throws {
        guard cursor.epoch >= 0, cursor.position >= 0, cursor.position <= shard.count, cursor.offset >= 0 else {
            throw TokenShardError.bad(shard.folder.path, "batch cursor \(cursor) does not fit \(shard.count) examples")
        }
        self.cursor = cursor
        order = makeOrder(epoch: cursor.epoch)
    }

    /// The next batch; the stream never ends (epochs follow one another).
    public func next() -> ShardBatch {
        let width = seq + 1
        var rowTokens = [Int32](repeating: padID, count: width)
        var rowMask = [UInt8](repeating: 0, count: width)
        var out = ShardBatch(batch: batch, seq: seq, tokens: [], targets: [], lossMask: [])
        out.tokens.reserveCapacity(batch * seq)
        out.targets.reserveCapacity(batch * seq)
        out.lossMask.reserveCapacity(batch * seq)
        var restarts = false
        for _ in 0 ..< batch {
            for i in 0 ..< width {
                rowTokens[i] = padID
                rowMask[i] = 0
            }
            let starts = fillRow(&rowTokens, &rowMask)
            out.tokens += rowTokens[0 ..< seq]
            out.targets += rowTokens[1 ... seq]
            for t in 1 ... seq { out.lossMask.append(Float(rowMask[t])) }
            // Padding after the last example continues its positions (nothing real attends to it).
            var start = 0, next = 1
            for t in 0 ..< seq {
                if next < starts.count, starts[next] == t { start = t; next += 1; restarts = true }
                out.positions.append(Int32(t - start))
            }
        }
        if !restarts { out.positions = [] }
        return out
    }

    private func advance() {
        cursor.position += 1
        cursor.offset = 0
        if cursor.position >= shard.count {
            cursor.epoch += 1
            cursor.position = 0
            order = makeOrder(epoch: cursor.epoch)
        }
    }

    /// Fills one row; returns where each example in it starts (`[0]` unless `.packed` put several).
    @discardableResult
    private func fillRow(_ tokens: inout [Int32], _ mask: inout [UInt8]) -> [Int] {
        let width = tokens.count
        var used = 0
        var starts: [Int] = []
        tokens.withUnsafeMutableBufferPointer { tk in
            mask.withUnsafeMutableBufferPointer { mk in
                while used < width {
                    let r = shard.range(of: order[cursor.position])
                    switch packing {
                    case .padded, .packed:
                        let n = min(r.count, width)
                        if used > 0, (packing == .padded || used + n > width) { return }
                        shard.copyTokens(r.lowerBound ..< r.lowerBound + n, into: tk.baseAddress! + used)
                        shard.copyMask(r.lowerBound ..< r.lowerBound + n, into: mk.baseAddress! + used)
                        if packing == .packed { starts.append(used) }
                        used += n
                        advance()
                        if packing == .padded { return }
                    case .continuous:
                        let start = r.lowerBound + cursor.offset
                        let n = min(r.upperBound - start, width - used)
                        shard.copyTokens(start ..< start + n, into: tk.baseAddress! + used)
                        shard.copyMask(start ..< start + n, into: mk.baseAddress! + used)
                        used += n
                        if start + n == r.upperBound { advance() } else { cursor.offset += n }
                    }
                }
            }
        }
        return starts.isEmpty ? [0] : starts
    }

    /// Every example exactly once, in shard order, one per row (cut to `seq + 1` tokens, padded),
    /// `batch` rows per batch (the last batch may have fewer): what evaluation reads.
    public static func evaluationBatches(_ shard: TokenShard, batch: Int, seq: Int, padID: Int32) -> [ShardBatch] {
        var out: [ShardBatch] = []
        var i = 0
        let width = seq + 1
        while i < shard.count {
            let rows = min(batch, shard.count - i)
            var b = ShardBatch(batch: rows, seq: seq, tokens: [], targets: [], lossMask: [])
            for k in 0 ..< rows {
                let r = shard.range(of: i + k)
                let n = min(r.count, width)
                var tokens = [Int32](repeating: padID, count: width)
                var mask = [UInt8](repeating: 0, count: width)
                tokens.withUnsafeMutableBufferPointer { shard.copyTokens(r.lowerBound ..< r.lowerBound + n, into: $0.baseAddress!) }
                mask.withUnsafeMutableBufferPointer { shard.copyMask(r.lowerBound ..< r.lowerBound + n, into: $0.baseAddress!) }
                b.tokens += tokens[0 ..< seq]
                b.targets += tokens[1 ... seq]
                for t in 1 ... seq { b.lossMask.append(Float(mask[t])) }
            }
            out.append(b)
            i += rows
        }
        return out
    }
}
