/// A training or evaluation batch: `batch` rows of `seq` token positions, row-major.
///
/// Position `t` of row `b` predicts `targets[b·seq + t]` (the next token) with weight
/// `lossMask[b·seq + t]` (0 = not scored: padding, prompt tokens). Every row starts at position 0
/// (rows are independent sequences); a row packing several examples says where each starts in
/// `positions`, and each example then attends only to itself.
/// Targets under a zero mask are ignored and may hold anything (e.g. -1).
public struct TokenBatch: Sendable {
    public var batch: Int
    public var seq: Int
    public var tokens: [Int32]
    public var targets: [Int32]
    public var lossMask: [Float]
    /// Each position's place in its own example, when rows pack several examples: attention then
    /// stays inside each example (a block-diagonal causal mask) and RoPE positions restart, so a
    /// packed example computes exactly what it computes alone. nil: every row is one sequence.
    public var positions: [Int32]?

    public init(batch: Int, seq: Int, tokens: [Int32], targets: [Int32], lossMask: [Float], positions: [Int32]? = nil) {
        precondition(batch > 0 && seq > 0, "TokenBatch needs batch > 0 and seq > 0, got \(batch)×\(seq)")
        precondition(tokens.count == batch * seq && targets.count == batch * seq && lossMask.count == batch * seq,
                     "TokenBatch \(batch)×\(seq): tokens \(tokens.count), targets \(targets.count), mask \(lossMask.count)")
        self.batch = batch
        self.seq = seq
        self.tokens = tokens
        self.targets = targets
        self.lossMask = lossMask
        if let positions {
            precondition(positions.count == batch * seq, "TokenBatch \(batch)×\(seq): positions \(positions.count)")
            for b in 0..<batch { precondition(positions[b * seq] == 0, "TokenBatch: row \(b) must start an example (position 0)") }
        }
        self.positions = positions
    }

    /// The examples of a packed batch as `(first row index, length)` over the flattened rows,
    /// in order; one per row without `positions`.
    public var segments: [(offset: Int, length: Int)] {
        guard let positions else { return (0..<batch).map { ($0 * seq, seq) } }
        var out: [(offset: Int, length: Int)] = []
        for i in 0..<positions.count where positions[i] == 0 || i % seq == 0 {
            if let last = out.last { out[out.count - 1].length = i - last.offset }
            out.append((i, 0))
        }
        out[out.count - 1].length = positions.count - out[out.count - 1].offset
        return out
    }

    /// One sequence scored at every position after the first: `tokens[0..<n-1]` predict `tokens[1...]`.
    public init(sequence: [Int]) {
        precondition(sequence.count >= 2, "a scored sequence needs at least 2 tokens")
        let n = sequence.count - 1
        self.init(batch: 1, seq: n, tokens: sequence.prefix(n).map { Int32($0) },
                  targets: sequence.dropFirst().map { Int32($0) }, lossMask: [Float](repeating: 1, count: n))
    }

    /// One sequence whose tokens from index `scoredFrom` on are scored (a prompt/completion pair:
    /// `scoredFrom` = prompt length). Requires `1 <= scoredFrom < sequence.count`.
    public init(sequence: [Int], scoredFrom: Int) {
        precondition(scoredFrom >= 1 && scoredFrom < sequence.count, "scoredFrom \(scoredFrom) outside 1..<\(sequence.count)")
        self.init(sequence: sequence)
        for t in 0..<(scoredFrom - 1) { lossMask[t] = 0 }
    }

    public var tokenCount: Int { batch * seq }
}

/// The result of one training forward/backward.
public struct StepLoss: Sendable, Equatable {
    /// `crossEntropy + auxiliary`: the quantity whose gradient was accumulated.
    public var loss: Float
    /// Mask-weighted mean of −log p(target) over the scored positions.
    public var crossEntropy: Float
    /// Sum of the adapters' weighted auxiliary losses (SiRA load balancing, z-loss).
    public var auxiliary: Float
    /// Positions with a non-zero mask.
    public var tokens: Int
    /// Scored positions whose argmax equals the target.
    public var correct: Int

    public init(loss: Float, crossEntropy: Float, auxiliary: Float, tokens: Int, correct: Int) {
        self.loss = loss
        self.crossEntropy = crossEntropy
        self.auxiliary = auxiliary
        self.tokens = tokens
        self.correct = correct
    }
}
