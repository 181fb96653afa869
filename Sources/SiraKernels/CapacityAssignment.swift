/// One SiRA call's routing after capacity and expert dropout: which assignments run, and the row
/// tables the grouped expert GEMMs and the fused combine read.
///
/// Assignment `a = t·k + j` is token `t`'s `j`-th choice (top-k order). A *computed row* is an
/// assignment that capacity granted and dropout kept; rows are grouped by expert, in grant order
/// within an expert (every first choice in token order, then every second choice, ...), so expert
/// `e`'s rows `rowOffsets[e] ..< rowOffsets[e+1]` are one GEMM over the token rows `rowToken[...]`.
public struct RoutingPlan: Sendable, Equatable {
    public let tokens: Int
    public let k: Int
    public let experts: Int
    /// `[T·k]` expert of each assignment.
    public var choices: [Int32]
    /// `[T·k]` gate of each assignment, as given (before capacity and dropout).
    public var gates: [Float]
    /// `[T·k]` whether capacity granted the assignment (a dropped-out assignment was granted).
    public var granted: [Bool]
    /// `[T·k]` multiplier of the gate: 0 when refused by capacity or dropped out, else the dropout
    /// survivor scale (1 without dropout).
    public var keep: [Float]
    /// `[E + 1]`, `rowOffsets[0] == 0`: expert `e`'s computed rows.
    public var rowOffsets: [Int]
    /// `[rows]` assignment of each computed row.
    public var rowAssignment: [Int32]
    /// `[rows]` token of each computed row (`rowAssignment / k`): the row table of the expert GEMMs.
    public var rowToken: [Int32]
    /// `[T·k]` computed row of each assignment, or -1.
    public var slotRow: [Int32]
    /// Assignments refused by capacity.
    public var dropped: Int

    /// Computed rows (Σ_e granted and kept).
    public var rows: Int { rowAssignment.count }

    /// An empty plan for `experts` experts (no tokens).
    public init(experts: Int, k: Int) {
        self.init(tokens: 0, k: k, experts: experts, choices: [], gates: [], capacity: nil, dropout: nil)
    }

    /// Grants each token's top-k expert choices up to `capacity` assignments per expert, GShard
    /// order: all first choices in token order, then all second choices, ...; an assignment
    /// arriving at a full expert is refused. Then each granted assignment's gate multiplier is
    /// `dropout(a)` (0 drops it: a dropped-out assignment still holds its place under capacity).
    /// - `choices`: `[T·k]` expert ids (from `topKRows`), each in `0..<experts`.
    /// - `gates`: `[T·k]` gate values, carried into the plan.
    /// - `capacity`: max assignments per expert; nil for no limit.
    /// - `dropout`: nil keeps every granted assignment with multiplier 1.
    public init(tokens: Int, k: Int, experts: Int, choices: [Int32], gates: [Float], capacity: Int?,
                dropout: ((Int) -> Float)?) {
        precondition(experts >= 1 && k >= 1, "RoutingPlan: experts=\(experts) k=\(k)")
        precondition(capacity.map { $0 >= 0 } ?? true, "RoutingPlan: negative capacity")
        precondition(choices.count == tokens * k && gates.count == tokens * k, "RoutingPlan: choices/gates are not [T·k]")
        self.tokens = tokens
        self.k = k
        self.experts = experts
        self.choices = choices
        self.gates = gates
        let cap = capacity ?? Int.max
        var counts = [Int](repeating: 0, count: experts)
        granted = [Bool](repeating: false, count: tokens * k)
        keep = [Float](repeating: 0, count: tokens * k)
        dropped = 0
        // First pass decides grants and dropout and counts each expert's rows.
        var rowCounts = [Int](repeating: 0, count: experts)
        for s in 0..<k {
            for t in 0..<tokens {
                let a = t * k + s, e = Int(choices[a])
                precondition(e >= 0 && e < experts, "RoutingPlan: expert \(e) of token \(t) slot \(s) outside 0..<\(experts)")
                if counts[e] < cap {
                    counts[e] += 1
                    granted[a] = true
                    keep[a] = dropout?(a) ?? 1
                    if keep[a] != 0 { rowCounts[e] += 1 }
                } else {
                    dropped += 1
                }
            }
        }
        // Second pass places the computed rows at their expert's offset, in grant order.
        rowOffsets = [Int](repeating: 0, count: experts + 1)
        for e in 0..<experts { rowOffsets[e + 1] = rowOffsets[e] + rowCounts[e] }
        let rows = rowOffsets[experts]
        rowAssignment = [Int32](repeating: 0, count: rows)
        rowToken = [Int32](repeating: 0, count: rows)
        slotRow = [Int32](repeating: -1, count: tokens * k)
        var cursor = Array(rowOffsets.dropLast())
        for s in 0..<k {
            for t in 0..<tokens {
                let a = t * k + s
                guard keep[a] != 0 else { continue }
                let e = Int(choices[a]), at = cursor[e]
                rowAssignment[at] = Int32(a)
                rowToken[at] = Int32(t)
                slotRow[a] = Int32(at)
                cursor[e] += 1
            }
        }
    }
}
