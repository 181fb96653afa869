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
    let vectorEnd = vocab & ~7
    for r in 0..<rows {
        let z = logits + r &* vocab
        let m = mask[r]
        if m == 0 {
            if gradScale != nil { z.update(repeating: 0, count: vocab) }
            continue
        }
        let t = Int(targets[r])
        precondition(t >= 0 && t < vocab, "target \(t) outside the vocabulary (\(vocab))")
        // Max (and the first index holding it: the argmax, ties to the lower id).
        var mx8 = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        while j < vectorEnd {
            let v = UnsafeRawPointer(z + j).loadUnaligned(as: SIMD8<Float>.self)
            mx8.replace(with: v, where: v .> mx8)
            j &+= 8
        }
        var mx = mx8.max()
        while j < vocab { mx = max(mx, z[j]); j &+= 1 }
        // Bounded search: when the row holds NaN, `mx` may be NaN (or equal no element), and
        // `z[best] != mx` would never turn false. No argmax then: the row counts as incorrect.
        var best = -1
        for i in 0..<vocab where z[i] == mx { best = i; break }
        let zt = z[t]
        // Σ exp(z − max); with a gradient, the exponentials are kept in place for the next pass.
        var sum8 = SIMD8<Float>()
        let shift = SIMD8<Float>(repeating: mx)
        j = 0
        while j < vectorEnd {
            let e = exp8(UnsafeRawPointer(z + j).loadUnaligned(as: SIMD8<Float>.self) - shift)
            if gradScale != nil { UnsafeMutableRawPointer(z + j).storeBytes(of: e, as: SIMD8<Float>.self) }
            sum8 += e
            j &+= 8
        }
        var sum = sum8.sum()
        while j < vocab {
            let e = expf(z[j] - mx)
            if gradScale != nil { z[j] = e }
            sum += e
            j &+= 1
        }
        let nll = Double(logf(sum)) + Double(mx) - Double(zt)
        result.nllSum += nll
        result.weightedNLL += Double(m) * nll
        result.tokens += 1
        if best == t { result.correct += 1 }
        if let scale = gradScale {
            let k = scale * m / sum
            for i in 0..<vocab { z[i] *= k }
            z[t] -= scale * m
        }
    }
    return result
}
