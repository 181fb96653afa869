import Foundation

/// Loss sum over the counted rows of a `softmaxCrossEntropy` call.
public struct CrossEntropyResult: Sendable, Equatable {
    /// Σ over counted rows of `-log softmax(logits)[target]`, accumulated in Double.
    public var lossSum: Double
    /// Rows that counted (target >= 0 and mask != 0).
    public var count: Int
    public init(lossSum: Double, count: Int) { self.lossSum = lossSum; self.count = count }
}

/// Softmax cross-entropy over `rows` rows of `vocab` logits, fused with its gradient.
/// - `logits`: `[rows, vocab]`, row stride `ld` (default `vocab`).
/// - `targets`: `[rows]` class ids; a negative target (HF's -100) ignores the row.
/// - `mask`: optional `[rows]`, 0 ignores the row (a loss mask over prompt tokens).
/// - `dLogits`: optional `[rows, vocab]` with row stride `ld`, WRITTEN (not accumulated):
///   `gradScale * (softmax - onehot(target))` for counted rows, 0 for ignored rows. It may be the
///   `logits` buffer itself. Pass `gradScale = 1 / count` for a mean loss.
/// Rows run on `threads` threads (nil: `KernelThreads.count`); the result does not depend on it.
@discardableResult
public func softmaxCrossEntropy(logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                                mask: UnsafePointer<UInt8>? = nil, rows: Int, vocab: Int, ld: Int? = nil,
                                dLogits: UnsafeMutablePointer<Float>? = nil, gradScale: Float = 1,
                                threads: Int? = nil) -> CrossEntropyResult {
    let ld = ld ?? vocab
    let perRowLoss = UnsafeMutablePointer<Double>.allocate(capacity: max(rows, 1))
    defer { perRowLoss.deallocate() }
    let shared = UncheckedSendable((logits, targets, mask, dLogits, perRowLoss))
    let chunks = min(KernelThreads.resolve(threads), max(1, rows * vocab / 65536), max(rows, 1))
    parallelFor(chunks, threads: chunks) { t in
        let (logits, targets, mask, dLogits, perRowLoss) = shared.value
        for r in (rows * t / chunks)..<(rows * (t + 1) / chunks) {
            let target = Int(targets[r])
            let counted = target >= 0 && (mask?[r] ?? 1) != 0
            precondition(!counted || target < vocab, "softmaxCrossEntropy: target \(target) >= vocab \(vocab) in row \(r)")
            let lr = logits + r &* ld
            if !counted {
                perRowLoss[r] = 0
                if let d = dLogits { (d + r &* ld).update(repeating: 0, count: vocab) }
                continue
            }
            var mxv = SIMD8<Float>(repeating: -.infinity)
            forEachSIMD8(vocab) { j, n in mxv = laneMax(mxv, maskTail(loadPartial(lr + j, n), n, -.infinity)) }
            let mx = mxv.max()
            var sumv = SIMD8<Float>()
            forEachSIMD8(vocab) { j, n in sumv += maskTail(simdExp(loadPartial(lr + j, n) - SIMD8(repeating: mx)), n, 0) }
            let logZ = mx + logf(sumv.sum())
            perRowLoss[r] = Double(logZ - lr[target])
            if let d = dLogits {
                let dr = d + r &* ld
                let z = SIMD8(repeating: logZ)
                forEachSIMD8(vocab) { j, n in storePartial(dr + j, gradScale * simdExp(loadPartial(lr + j, n) - z), n) }
                dr[target] -= gradScale
            }
        }
    }
    var result = CrossEntropyResult(lossSum: 0, count: 0)
    for r in 0..<rows where targets[r] >= 0 && (mask?[r] ?? 1) != 0 {
        result.lossSum += perRowLoss[r]
        result.count += 1
    }
    return result
}
