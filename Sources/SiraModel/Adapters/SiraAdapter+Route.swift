import SiraKernels
import Foundation

// SiRA step 1: the router. Forward and backward side by side.
extension SiraAdapter {
    /// Router probabilities, top-k choices and gates for `tokens` rows of `x` `[T, in]`.
    /// Leaves `probs` `[T, E]` and `logsumexp` `[T]` for backward and the auxiliary losses; adds
    /// each token's routing entropy to `statistics`. Returns `choices`, `gates` `[T·k]` and
    /// `zSum = Σ_t logsumexp_t²`.
    func route(x: UnsafePointer<Float>, tokens: Int, statistics: inout RouterStatistics)
        -> (choices: [Int32], gates: [Float], zSum: Double) {
        let T = tokens, E = experts, k = topK
        let p = probs.reserve(T * E), lse = logsumexp.reserve(T)
        // logits = x Wgᵀ                                 [T, E]
        sgemm(.noTranspose, .transpose, m: T, n: E, k: inFeatures, alpha: 1,
              a: x, lda: inFeatures, b: router.value.pointer, ldb: inFeatures, beta: 0, c: p, ldc: E)
        // p = softmax(logits), lse = logsumexp(logits)   [T, E], [T]
        var zSum: Double = 0
        for t in 0..<T {
            lse[t] = RouterMath.softmaxInPlace(p + t * E, count: E)
            zSum += Double(lse[t]) * Double(lse[t])
            var h: Double = 0
            for e in 0..<E where p[t * E + e] > 0 { h -= Double(p[t * E + e]) * Double(logf(p[t * E + e])) }
            statistics.entropySum += h
        }
        // choices = topk(p) (ties to the lower index)    [T, k]
        var choices = [Int32](repeating: 0, count: T * k)
        var gates = [Float](repeating: 0, count: T * k)
        choices.withUnsafeMutableBufferPointer { c in
            gates.withUnsafeMutableBufferPointer { g in
                topKRows(p, rows: T, cols: E, k: k, indices: c.baseAddress!, values: g.baseAddress!)
            }
        }
        // gates = p[choices], renormalised over the k    [T, k]
        for t in 0..<T {
            var sum: Float = 0
            for j in 0..<k { let g = p[t * E + Int(choices[t * k + j])]; gates[t * k + j] = g; sum += g }
            if config.normalizeGates { for j in 0..<k { gates[t * k + j] /= sum } }
        }
        return (choices, gates, zSum)
    }

    /// Backward of `route`: gate gradients `dGate` `[T·k]` (from `expertsBackward`) and the
    /// auxiliary losses' terms through the renormalisation and the softmax into the router logits
    /// `dz` `[T, E]`; accumulates `router.grad += dzᵀ x` and `dx += dz Wg`.
    func routeBackward(x: UnsafePointer<Float>, dGate: [Float], dx: UnsafeMutablePointer<Float>, tokens: Int) {
        let T = tokens, E = experts, k = topK
        let p = probs.pointer, lse = logsumexp.pointer
        let choices = plan.choices, gates = plan.gates
        // dp = ∂L/∂p from the gates                      [T, E]
        let dz = routerGrad.reserve(T * E)
        dz.update(repeating: 0, count: T * E)
        for t in 0..<T {
            let dp = dz + t * E, pt = p + t * E
            if config.normalizeGates {
                var sumP: Float = 0, dot: Float = 0
                for j in 0..<k { sumP += pt[Int(choices[t * k + j])]; dot += dGate[t * k + j] * gates[t * k + j] }
                for j in 0..<k { dp[Int(choices[t * k + j])] += (dGate[t * k + j] - dot) / sumP }
            } else {
                for j in 0..<k { dp[Int(choices[t * k + j])] += dGate[t * k + j] }
            }
        }
        // dp += balance-loss term; zCoef: the z-loss term at the logits
        let zCoef = auxLossBackward(dProbs: dz, tokens: T)
        // dz = p ⊙ (dp − <p, dp>) + zCoef · lse · p      [T, E]
        for t in 0..<T {
            let dp = dz + t * E, pt = p + t * E
            var pdot: Float = 0
            for e in 0..<E { pdot += pt[e] * dp[e] }
            let zTerm = zCoef * lse[t]
            for e in 0..<E { dp[e] = pt[e] * (dp[e] - pdot + zTerm) }
        }
        // dWg += dzᵀ x                                   [E, in]
        if let gr = router.grad {
            sgemm(.transpose, .noTranspose, m: E, n: inFeatures, k: T, alpha: 1, a: dz, lda: E, b: x, ldb: inFeatures,
                  beta: 1, c: gr.pointer, ldc: inFeatures)
        }
        // dx += dz Wg                                    [T, in]
        sgemm(.noTranspose, .noTranspose, m: T, n: inFeatures, k: E, alpha: 1, a: dz, lda: E, b: router.value.pointer,
              ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
    }
}
