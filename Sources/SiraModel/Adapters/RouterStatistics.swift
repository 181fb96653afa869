import Foundation

/// What the SiRA routers did: summed over layers and micro-batches, reported per training step.
///
/// Counts are raw so that summaries merge exactly; the derived figures (`load`, `droppedFraction`,
/// `meanEntropy`, `balanceLoss`) are ratios of the sums.
public struct RouterStatistics: Codable, Sendable, Equatable {
    /// Experts per layer (all SiRA layers of one adapter have the same count).
    public var experts: Int
    /// Router calls merged into this summary (layers × micro-batches).
    public var calls: Int = 0
    /// Tokens routed, summed over calls.
    public var tokens: Int = 0
    /// Top-k assignments made before capacity (tokens × k), summed over calls.
    public var assignments: Int = 0
    /// Assignments routed to each expert before capacity.
    public var routed: [Int]
    /// Assignments each expert accepted under its capacity.
    public var granted: [Int]
    /// Assignments refused because their expert was full.
    public var dropped: Int = 0
    /// Sum over tokens of the routing entropy `-Σ p log p` (nats).
    public var entropySum: Double = 0
    /// Sum over calls of the unweighted load-balancing loss `E Σ f_e P_e`.
    public var balanceLossSum: Double = 0
    /// Sum over calls of the unweighted z-loss `mean(logsumexp²)`.
    public var zLossSum: Double = 0

    public init(experts: Int) {
        self.experts = experts
        routed = Array(repeating: 0, count: experts)
        granted = Array(repeating: 0, count: experts)
    }

    /// Share of the top-k assignments routed to each expert (sums to 1; uniform is 1/E).
    public var load: [Double] {
        routed.map { assignments > 0 ? Double($0) / Double(assignments) : 0 }
    }
    /// Fraction of assignments dropped by capacity.
    public var droppedFraction: Double { assignments > 0 ? Double(dropped) / Double(assignments) : 0 }
    /// Mean routing entropy per token (nats); `log E` is uniform routing.
    public var meanEntropy: Double { tokens > 0 ? entropySum / Double(tokens) : 0 }
    /// Mean load-balancing loss per router call (1 is perfectly balanced).
    public var balanceLoss: Double { calls > 0 ? balanceLossSum / Double(calls) : 0 }
    /// Mean z-loss per router call.
    public var zLoss: Double { calls > 0 ? zLossSum / Double(calls) : 0 }

    /// Adds another summary's counts into this one.
    public mutating func merge(_ other: RouterStatistics) {
        if experts != other.experts {
            // Different expert counts cannot share per-expert columns; keep the totals honest.
            let n = max(experts, other.experts)
            routed += Array(repeating: 0, count: n - routed.count)
            granted += Array(repeating: 0, count: n - granted.count)
            experts = n
        }
        calls += other.calls
        tokens += other.tokens
        assignments += other.assignments
        for e in 0..<other.experts {
            routed[e] += other.routed[e]
            granted[e] += other.granted[e]
        }
        dropped += other.dropped
        entropySum += other.entropySum
        balanceLossSum += other.balanceLossSum
        zLossSum += other.zLossSum
    }

    /// Merges a list of summaries; nil when the list is empty.
    public static func merged(_ list: [RouterStatistics]) -> RouterStatistics? {
        guard var total = list.first else { return nil }
        for s in list.dropFirst() { total.merge(s) }
        return total
    }
}
