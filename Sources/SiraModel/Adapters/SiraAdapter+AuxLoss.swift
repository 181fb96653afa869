import Foundation

// SiRA step 4: the auxiliary losses (load balancing and z-loss). Forward and backward side by side.
extension SiraAdapter {
    /// Sets `auxiliaryLoss = scale · (w_aux · E Σ_e f_e P_e + w_z · zSum / T)` and the call's
    /// statistics. `f_e` (first-choice fraction, `[E]`) is kept for backward; `P_e` is the mean of
    /// `probs` `[T, E]` over tokens.
    func auxLoss(tokens: Int, zSum: Double, statistics stats: inout RouterStatistics) {
        let T = tokens, E = experts, k = topK
        let p = probs.pointer
        // f_e, P_e                                       [E], [E]
        firstChoiceFraction = [Float](repeating: 0, count: E)
        var meanProb = [Double](repeating: 0, count: E)
        for t in 0..<T {
            firstChoiceFraction[Int(plan.choices[t * k])] += 1
            for e in 0..<E { meanProb[e] += Double(p[t * E + e]) }
        }
        var balance: Double = 0
        for e in 0..<E {
            firstChoiceFraction[e] /= Float(T)
            balance += Double(firstChoiceFraction[e]) * meanProb[e] / Double(T)
        }
        balance *= Double(E)
        let zLoss = T > 0 ? zSum / Double(T) : 0
        auxiliaryLoss = auxiliaryScale * Float(config.auxLossWeight * balance + config.zLossWeight * zLoss)
        stats.calls = 1
        stats.tokens = T
        stats.assignments = T * k
        for a in 0..<(T * k) {
            let e = Int(plan.choices[a])
            stats.routed[e] += 1
            if plan.granted[a] { stats.granted[e] += 1 }
        }
        stats.dropped = plan.dropped
        stats.balanceLossSum = balance
        stats.zLossSum = zLoss
    }

    /// Backward of `auxLoss`: adds the balance loss's `∂/∂p_e = scale · w_aux · E · f_e / T` to every
    /// token's row of `dProbs` `[T, E]`, and returns the z-loss coefficient `scale · w_z · 2 / T`:
    /// the z-loss gradient at token t's logits is that times `logsumexp_t · p_t`, which
    /// `routeBackward` folds into the softmax backward.
    func auxLossBackward(dProbs: UnsafeMutablePointer<Float>, tokens: Int) -> Float {
        let T = tokens, E = experts
        let balanceCoef = auxiliaryScale * Float(config.auxLossWeight) * Float(E) / Float(T)
        if balanceCoef != 0 {
            for t in 0..<T {
                let dp = dProbs + t * E
                for e in 0..<E { dp[e] += balanceCoef * firstChoiceFraction[e] }
            }
        }
        return auxiliaryScale * Float(config.zLossWeight) * 2 / Float(T)
    }
}
