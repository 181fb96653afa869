import SiraModel

/// One tokenized example: `[bos] + prompt + completion + [eos]`; tokens from index `scoredFrom` on
/// (the completion and the end-of-sequence token) are scored. A language-modelling record has no
/// prompt: `scoredFrom` = 1 (everything after the begin token).
public struct EncodedExample: Sendable, Equatable, Codable {
    public var tokens: [Int32]
    public var scoredFrom: Int

    public init(tokens: [Int32], scoredFrom: Int) {
        self.tokens = tokens
        self.scoredFrom = scoredFrom
    }
}

/// The trainer's batches over a list of encoded examples: each epoch visits the examples in a
/// fresh seeded order and packs them back to back into rows of `seq + 1` tokens (an example that
/// does not fit in what is left of a row starts the next one; one longer than a row is cut), so
/// short examples do not waste compute on padding. Position `t` predicts token `t + 1`; only
/// tokens inside an example's scored part count in the loss.
///
/// The cursor (epoch, position in the epoch's order) is all the state: restoring it continues the
/// stream exactly, which is what makes a resumed training run identical to an uninterrupted one.
public final class PackedBatchSource: BatchSource {
    public struct Cursor: Codable, Equatable, Sendable {
        public var epoch: Int
        public var position: Int
    }

    public let examples: [EncodedExample]
    public let batch: Int
    public let seq: Int
    public let seed: UInt64
    public let pad: Int32
    public private(set) var cursor = Cursor(epoch: 0, position: 0)
    private var order: [Int] = []

    public init(examples: [EncodedExample], batch: Int, seq: Int, seed: UInt64, pad: Int32) throws {
        guard !examples.isEmpty else { throw StageFailure("no training examples") }
        guard examples.allSatisfy({ $0.tokens.count >= 2 && $0.scoredFrom >= 1 }) else {
            throw StageFailure("an encoded example has fewer than 2 tokens or nothing before its scored part")
        }
        self.examples = examples
        self.batch = batch
        self.seq = seq
        self.seed = seed
        self.pad = pad
        order = Self.permutation(count: examples.count, seed: seed, epoch: 0)
    }

    public func restore(_ cursor: Cursor) throws {
        guard cursor.epoch >= 0, cursor.position >= 0, cursor.position <= examples.count else {
            throw StageFailure("batch cursor \(cursor) does not fit \(examples.count) examples")
        }
        self.cursor = cursor
        order = Self.permutation(count: examples.count, seed: seed, epoch: cursor.epoch)
    }

    public func nextBatch() throws -> TokenBatch {
        let width = seq + 1
        var tokens = [Int32](repeating: pad, count: batch * seq)
        var targets = [Int32](repeating: pad, count: batch * seq)
        var mask = [Float](repeating: 0, count: batch * seq)
        var rowTokens = [Int32](repeating: pad, count: width)
        var rowScored = [Bool](repeating: false, count: width)
        for row in 0 ..< batch {
            var filled = 0
            for i in 0 ..< width {
                rowTokens[i] = pad
                rowScored[i] = false
            }
            while filled < width {
                let ex = examples[order[cursor.position]]
                let room = width - filled
                if ex.tokens.count > room, filled > 0 { break } // starts the next row
                let n = min(ex.tokens.count, room)
                for j in 0 ..< n {
                    rowTokens[filled + j] = ex.tokens[j]
                    rowScored[filled + j] = j >= ex.scoredFrom
                }
                filled += n
                advance()
            }
            for t in 0 ..< seq {
                tokens[row * seq + t] = rowTokens[t]
                targets[row * seq + t] = rowTokens[t + 1]
                mask[row * seq + t] = rowScored[t + 1] ? 1 : 0
            }
        }
        return TokenBatch(batch: batch, seq: seq, tokens: tokens, targets: targets, lossMask: mask)
    }

    private func advance() {
        cursor.position += 1
        if cursor.position == examples.count {
            cursor = Cursor(epoch: cursor.epoch + 1, position: 0)
            order = Self.permutation(count: examples.count, seed: seed, epoch: cursor.epoch)
        }
    }

    /// Fisher–Yates with a generator seeded by (seed, epoch).
    static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = Xoshiro256(seed: CounterHash.hash(seed, UInt64(epoch)))
        var p = Array(0 ..< count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                p.swapAt(i, j)
            }
        }
        return p
    }
}

/// Evaluation rows: each example alone, padded to the longest in its group, scored on its
/// completion, so every example is measured in the context it will be used in.
enum EvaluationBatches {
    static func make(_ examples: [EncodedExample], rows: Int, maxLength: Int, pad: Int32) -> [TokenBatch] {
        var out: [TokenBatch] = []
        var start = 0
        while start < examples.count {
            let group = examples[start ..< min(examples.count, start + rows)].map { ex in
                EncodedExample(tokens: Array(ex.tokens.prefix(maxLength + 1)), scoredFrom: ex.scoredFrom)
            }
            start += rows
            let seq = max(1, group.map { $0.tokens.count - 1 }.max() ?? 1)
            var tokens = [Int32](repeating: pad, count: group.count * seq)
            var targets = [Int32](repeating: pad, count: group.count * seq)
            var mask = [Float](repeating: 0, count: group.count * seq)
            for (r, ex) in group.enumerated() {
                for t in 0 ..< ex.tokens.count - 1 {
                    tokens[r * seq + t] = ex.tokens[t]
                    targets[r * seq + t] = ex.tokens[t + 1]
                    mask[r * seq + t] = t + 1 >= ex.scoredFrom ? 1 : 0
                }
            }
            out.append(TokenBatch(batch: group.count, seq: seq, tokens: tokens, targets: targets, lossMask: mask))
        }
        return out
    }
}
