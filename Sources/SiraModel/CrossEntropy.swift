import Foundation

/// Fused softmax cross-entropy over rows of logits, forward and (optionally) backward in place.
///
/// For row `r` with weight `m = mask[r]` and target `t`: `nll = logsumexp(z) − z[t]` (in Double).
/// With `gradScale`, the row is overwritten by `∂(gradScale · Σ m·nll)/∂z = gradScale·m·(softmax(z) − onehot(t))`
/// (zeros for `m == 0`). `correct` counts scored rows whose first argmax is the target.
struct TokenLossSums {
    var nllSum: Double = 0
    var weightedNLL: Double = 0
    var tokens = 0
    var correct = 0

    mutating func add(_ other: TokenLossSums) {
        nllSum += other.nllSum
        weightedNLL += other.weightedNLL
        tokens += other.tokens
        correct += other.correct
    }
}

func crossEntropyRows(logits: UnsafeMutablePointer<Float>, rows: Int, vocab: Int,
                      targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>, gradScale: Float?) -> TokenLossSums {
    var result = TokenLossSums()
    for r in 0..<rows {
        let z = logits + r &* vocab
        let m = mask[r]
        if m == 0 {
            if gradScale != nil { z.update(repeating: 0, count: vocab) }
            continue
        }
        let t = Int(targets[r])
        precondition(t >= 0 && t < vocab, "target \(t) outside the vocabulary (\(vocab))")
        var best = 0
        var mx = z[0]
        for j in 1..<vocab where z[j] > mx { mx = z[j]; best = j }
        var sum: Float = 0
        for j in 0..<vocab { sum += expf(z[j] - mx) }
        let nll = Double(logf(sum)) + Double(mx) - Double(z[t])
        result.nllSum += nll
        result.weightedNLL += Double(m) * nll
        result.tokens += 1
        if best == t { result.correct += 1 }
        if let scale = gradScale {
            let k = scale * m / sum
            for j in 0..<vocab { z[j] = k * expf(z[j] - mx) }
            z[t] -= scale * m
        }
    }
    return result
}
