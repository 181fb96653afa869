// Moving token rows to and from per-expert blocks (SiRA's sparse dispatch and combine).

/// `destination[i, :] = source[indices[i], :]` for `count` rows of `dim` floats.
/// `source` has row stride `sourceLD`, `destination` `destinationLD` (both default `dim`).
public func gatherRows(source: UnsafePointer<Float>, indices: UnsafePointer<Int32>, count: Int, dim: Int,
                       destination: UnsafeMutablePointer<Float>, sourceLD: Int? = nil, destinationLD: Int? = nil,
                       threads: Int? = nil) {
    let sld = sourceLD ?? dim, dld = destinationLD ?? dim
    let shared = UncheckedSendable((source, indices, destination))
    parallelRanges(count, minimum: max(1, 32768 / max(dim, 1)), threads: threads) { range in
        let (source, indices, destination) = shared.value
        for i in range {
            let r = Int(indices[i])
            precondition(r >= 0, "gatherRows: negative index \(r) at \(i)")
            (destination + i &* dld).update(from: source + r &* sld, count: dim)
        }
    }
}

/// Weighted scatter-add, ACCUMULATING: `destination[indices[i], :] += weights[i] * source[i, :]`
/// (`weights` nil means 1). Repeated indices add up, in order of `i`. This is also the backward
/// of `gatherRows`. Threads split the columns (so repeated indices never race).
public func scatterAddRows(source: UnsafePointer<Float>, indices: UnsafePointer<Int32>,
                           weights: UnsafePointer<Float>? = nil, count: Int, dim: Int,
                           destination: UnsafeMutablePointer<Float>, sourceLD: Int? = nil, destinationLD: Int? = nil,
                           threads: Int? = nil) {
    let sld = sourceLD ?? dim, dld = destinationLD ?? dim
    for i in 0..<count { precondition(indices[i] >= 0, "scatterAddRows: negative index \(indices[i]) at \(i)") }
    let shared = UncheckedSendable((source, indices, weights, destination))
    let blocks = (dim + 63) / 64
    parallelRanges(blocks, minimum: max(1, 32768 / max(count * 64, 1)), threads: threads) { range in
        let (source, indices, weights, destination) = shared.value
        let lo = range.lowerBound * 64, hi = min(dim, range.upperBound * 64)
        for i in 0..<count {
            let r = Int(indices[i])
            let w = weights?[i] ?? 1
            let src = source + i &* sld, dst = destination + r &* dld
            for j in lo..<hi { dst[j] += w * src[j] }
        }
    }
}

/// Backward of the weighted `scatterAddRows`, ACCUMULATING. Given `dDestination = ∂L/∂destination`:
/// `dSource[i, :] += weights[i] * dDestination[indices[i], :]` and
/// `dWeights[i] += dot(dDestination[indices[i], :], source[i, :])` (skipped when `dWeights` is nil).
public func scatterAddRowsBackward(source: UnsafePointer<Float>, indices: UnsafePointer<Int32>,
                                   weights: UnsafePointer<Float>, count: Int, dim: Int,
                                   dDestination: UnsafePointer<Float>,
                                   dSource: UnsafeMutablePointer<Float>?, dWeights: UnsafeMutablePointer<Float>?,
                                   sourceLD: Int? = nil, destinationLD: Int? = nil) {
    let sld = sourceLD ?? dim, dld = destinationLD ?? dim
    for i in 0..<count {
        let r = Int(indices[i])
        precondition(r >= 0, "scatterAddRowsBackward: negative index \(r) at \(i)")
        let g = dDestination + r &* dld, src = source + i &* sld
        if let dSource {
            let w = weights[i], ds = dSource + i &* sld
            for j in 0..<dim { ds[j] += w * g[j] }
        }
        if let dWeights {
            var dot: Float = 0
            for j in 0..<dim { dot += g[j] * src[j] }
            dWeights[i] += dot
        }
    }
}
