/// Tokens granted to each expert after capacity, in GShard order, plus the assignments dropped.
///
/// Expert `e`'s granted assignments are `offsets[e] ..< offsets[e+1]` in `tokens`, `slots`,
/// `gates` (so `offsets[e+1] - offsets[e]` rows for a grouped GEMM over the gathered tokens). Within
/// an expert they are in grant order: every first choice in token order, then every second
/// choice in token order, and so on.
public struct ExpertAssignment: Sendable, Equatable {
    public var experts: Int
    /// `[experts + 1]`, `offsets[0] == 0`.
    public var offsets: [Int]
    /// Token index (row of the batch) of each granted assignment.
    public var tokens: [Int32]
    /// Which of the token's k choices (0 = first) the assignment is.
    public var slots: [Int32]
    /// The gate value of the assignment, copied from the input.
    public var gates: [Float]
    /// Dropped (over capacity) assignments, in the order they were considered.
    public var droppedTokens: [Int32]
    public var droppedSlots: [Int32]

    /// Number of tokens granted to expert `e`.
    public func count(expert e: Int) -> Int { offsets[e + 1] - offsets[e] }
    /// Per-expert granted counts, `[experts]`.
    public var counts: [Int] { (0..<experts).map { count(expert: $0) } }
}

/// Grants each token's top-k expert choices up to `capacity` tokens per expert, GShard order:
/// all first choices in token order, then all second choices, ...; an assignment arriving at a
/// full expert is dropped.
/// - `choices`: `[tokenCount, k]` expert ids (from `topKRows`), each in `0..<experts`.
/// - `gates`: `[tokenCount, k]` gate values carried into the result.
/// - `capacity`: max tokens per expert; nil for no limit (evaluation without a capacity factor).
public func assignExperts(choices: UnsafePointer<Int32>, gates: UnsafePointer<Float>, tokenCount: Int, k: Int,
                          experts: Int, capacity: Int?) -> ExpertAssignment {
    precondition(experts >= 1 && k >= 1, "assignExperts: experts=\(experts) k=\(k)")
    precondition(capacity.map { $0 >= 0 } ?? true, "assignExperts: negative capacity")
    let cap = capacity ?? Int.max
    // First pass decides grants and counts; second places them at their expert's offset.
    var counts = [Int](repeating: 0, count: experts)
    var granted = [Bool](repeating: false, count: tokenCount * k)
    var droppedTokens: [Int32] = [], droppedSlots: [Int32] = []
    for s in 0..<k {
        for t in 0..<tokenCount {
            let e = Int(choices[t * k + s])
            precondition(e >= 0 && e < experts, "assignExperts: expert \(e) of token \(t) slot \(s) outside 0..<\(experts)")
            if counts[e] < cap {
                counts[e] += 1
                granted[t * k + s] = true
            } else {
                droppedTokens.append(Int32(t))
                droppedSlots.append(Int32(s))
            }
        }
    }
    var offsets = [Int](repeating: 0, count: experts + 1)
    for e in 0..<experts { offsets[e + 1] = offsets[e] + counts[e] }
    let total = offsets[experts]
    var tokens = [Int32](repeating: 0, count: total)
    var slots = [Int32](repeating: 0, count: total)
    var outGates = [Float](repeating: 0, count: total)
    var cursor = Array(offsets.dropLast())
    for s in 0..<k {
        for t in 0..<tokenCount where granted[t * k + s] {
            let e = Int(choices[t * k + s])
            let at = cursor[e]
            tokens[at] = Int32(t)
            slots[at] = Int32(s)
            outGates[at] = gates[t * k + s]
            cursor[e] += 1
        }
    }
    return ExpertAssignment(experts: experts, offsets: offsets, tokens: tokens, slots: slots, gates: outGates,
                            droppedTokens: droppedTokens, droppedSlots: droppedSlots)
}
