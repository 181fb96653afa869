import Foundation

/// Sums over the scored rows of a `softmaxCrossEntropy` call.
public struct CrossEntropySums: Sendable, Equatable {
    /// Σ over scored rows of `nll = logsumexp(z) − z[target]`, accumulated in Double.
    public var nllSum: Double = 0
    /// Σ over scored rows of `weight · nll`.
    public var weightedNLL: Double = 0
    /// Rows scored (weight ≠ 0).
    public var tokens = 0
    /// Scored rows whose first argmax (ties to the lower id) is the target.
    public var correct = 0

    public init() {}

    public mutating func add(_ other: CrossEntropySums) {
        nllSum += other.nllSum
        weightedNLL += other.weightedNLL
        tokens += other.tokens
        correct += other.correct
    }
}

/// Fused softmax cross-entropy over rows of logits, forward and (optionally) backward in place.
/// - `logits`: `[rows, vocab]`, contiguous. With `gradScale`, OVERWRITTEN by
///   `∂(gradScale · Σ weight·nll)/∂z = gradScale·weight·(softmax(z) − onehot(target))`
///   (zeros for rows of weight 0); without it, left unchanged.
/// - `targets`: `[rows]` class ids in `0..<vocab` (checked by the caller) for every scored row.
/// - `weights`: `[rows]` loss weights; 0 skips the row (a prompt or padding token).
///
/// The exponentials are computed once and kept in place for the gradient. Rows run on `threads`
/// threads (nil: `KernelThreads.count`) in fixed blocks of 64 summed in block order, so the sums do
/// not depend on the thread count: an evaluation reproduces bit for bit on any machine.
@discardableResult
public func softmaxCrossEntropy(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                                weights: UnsafePointer<Float>, rows: Int, vocab: Int, gradScale: Float?,
                                threads: Int? = nil) -> CrossEntropySums {
    let block = 64
    let parts = max(1, (rows + block - 1) / block)
    let workers = max(1, min(KernelThreads.resolve(threads), parts))
    let results = UnsafeMutablePointer<CrossEntropySums>.allocate(capacity: parts)
    results.initialize(repeating: CrossEntropySums(), count: parts)
    defer { results.deallocate() }
    let shared = UncheckedSendable((logits, targets, weights, results))
    parallelFor(workers, threads: workers) { w in
        let (logits, targets, weights, results) = shared.value
        var i = w
        while i < parts {
            let lo = i * block, hi = min(rows, lo + block)
            results[i] = crossEntropyBlock(logits + lo * vocab, targets + lo, weights + lo, hi - lo, vocab, gradScale)
            i += workers
        }
    }
    var total = CrossEntropySums()
    for i in 0..<parts { total.add(results[i]) }
    return total
}

private func crossEntropyBlock(_ logits: UnsafeMutablePointer<Float>, _ targets: UnsafePointer<Int32>,
                               _ weights: UnsafePointer<Float>, _ rows: Int, _ vocab: Int,
                               _ gradScale: Float?) -> CrossEntropySums {
    var result = CrossEntropySums()
    let vectorEnd = vocab & ~7
    for r in 0..<rows {
        let z = logits + r &* vocab
        let m = weights[r]
        if m == 0 {
            if gradScale != nil { z.update(repeating: 0, count: vocab) }
            continue
        }
        let t = Int(targets[r])
        // Max (and the first index holding it: the argmax, ties to the lower id).
        var mx8 = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        while j < vectorEnd {
            mx8 = laneMax(mx8, UnsafeRawPointer(z + j).loadUnaligned(as: SIMD8<Float>.self))
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
            let e = simdExp(UnsafeRawPointer(z + j).loadUnaligned(as: SIMD8<Float>.self) - shift)
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
