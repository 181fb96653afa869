import Foundation

// Rotary position embeddings, rotate-half form (HF Llama): for i < d/2 the pair
// (x[i], x[i + d/2]) is rotated by the angle pos * theta^(-2i/d).

/// Cosines and sines of every (position, frequency) pair for positions `0..<maxPositions`, computed
/// in Double and rounded once, so long positions stay accurate. The table grows on demand
/// (`reserve`): a 128k-position context is never allocated up front.
///
/// `reserve` mutates the table: call it before rotating (and before sharing the table between
/// threads for a pass); rotating reads only.
public final class RotaryTable: @unchecked Sendable {
    public let headDim: Int
    /// Per-frequency angle step `invFreq[i]` (`i < headDim/2`): position `p` rotates pair `i` by `p·invFreq[i]`.
    public let inverseFrequencies: [Double]
    public private(set) var maxPositions: Int
    private(set) var cosines: UnsafeMutablePointer<Float>   // [maxPositions, headDim/2]
    private(set) var sines: UnsafeMutablePointer<Float>

    /// The plain table: `invFreq[i] = theta^(−2i/headDim)`. `headDim` must be even.
    public convenience init(headDim: Int, maxPositions: Int, theta: Double) {
        precondition(headDim > 0 && headDim % 2 == 0, "RotaryTable: headDim \(headDim) must be even")
        self.init(inverseFrequencies: (0..<headDim / 2).map { 1 / pow(theta, Double(2 * $0) / Double(headDim)) },
                  maxPositions: maxPositions)
    }

    /// A table for the given frequencies (a model's scaled ones, e.g. Llama 3's `rope_scaling`);
    /// the head size is `2 · inverseFrequencies.count`.
    public init(inverseFrequencies: [Double], maxPositions: Int) {
        precondition(!inverseFrequencies.isEmpty, "RotaryTable: no frequencies")
        precondition(maxPositions > 0, "RotaryTable: maxPositions must be positive")
        headDim = 2 * inverseFrequencies.count
        self.inverseFrequencies = inverseFrequencies
        self.maxPositions = 0
        cosines = .allocate(capacity: 0)
        sines = .allocate(capacity: 0)
        reserve(maxPositions)
    }

    /// Makes positions `0..<count` available (growing at least twofold, so a generation loop that
    /// asks one position more each step reallocates O(log n) times).
    public func reserve(_ count: Int) {
        guard count > maxPositions else { return }
        let half = headDim / 2
        let newCount = max(count, maxPositions * 2)
        let newCos = UnsafeMutablePointer<Float>.allocate(capacity: newCount * half)
        let newSin = UnsafeMutablePointer<Float>.allocate(capacity: newCount * half)
        newCos.update(from: cosines, count: maxPositions * half)
        newSin.update(from: sines, count: maxPositions * half)
        for p in maxPositions..<newCount {
            for i in 0..<half {
                let angle = Double(p) * inverseFrequencies[i]
                newCos[p * half + i] = Float(cos(angle))
                newSin[p * half + i] = Float(sin(angle))
            }
        }
        cosines.deallocate()
        sines.deallocate()
        cosines = newCos
        sines = newSin
        maxPositions = newCount
    }

    deinit {
        cosines.deallocate()
        sines.deallocate()
    }
}

/// Rotates `x` in place: `x` is `[tokens, heads, headDim]` with token stride `ld`
/// (default `heads * headDim`); token `t` is at position `positions[t]` (< `table.maxPositions`).
public func ropeForward(table: RotaryTable, x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int,
                        positions: UnsafePointer<Int>, ld: Int? = nil) {
    ropeRotate(table, x, tokens, heads, ld ?? heads * table.headDim, sign: 1) { positions[$0] }
}

/// Backward of `ropeForward`, in place: on entry `dx` holds `∂L/∂y`, on exit `∂L/∂x`
/// (the inverse rotation, since the rotation is orthogonal).
public func ropeBackward(table: RotaryTable, dx: UnsafeMutablePointer<Float>, tokens: Int, heads: Int,
                         positions: UnsafePointer<Int>, ld: Int? = nil) {
    ropeRotate(table, dx, tokens, heads, ld ?? heads * table.headDim, sign: -1) { positions[$0] }
}

/// `ropeForward` for tokens that are consecutive sequences of `sequenceLength` positions
/// starting at `startPosition` (token `t` is at `startPosition + t % sequenceLength`): a training
/// batch of sequences, or one run of consecutive positions with `sequenceLength: .max` (generation).
public func ropeForward(table: RotaryTable, x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int,
                        sequenceLength: Int, startPosition: Int = 0, ld: Int? = nil) {
    precondition(sequenceLength > 0, "ropeForward: sequenceLength must be positive")
    ropeRotate(table, x, tokens, heads, ld ?? heads * table.headDim, sign: 1) { startPosition + $0 % sequenceLength }
}

/// Backward of the `sequenceLength` form of `ropeForward`, in place on `dx`.
public func ropeBackward(table: RotaryTable, dx: UnsafeMutablePointer<Float>, tokens: Int, heads: Int,
                         sequenceLength: Int, startPosition: Int = 0, ld: Int? = nil) {
    precondition(sequenceLength > 0, "ropeBackward: sequenceLength must be positive")
    ropeRotate(table, dx, tokens, heads, ld ?? heads * table.headDim, sign: -1) { startPosition + $0 % sequenceLength }
}

@inline(__always)
func ropeRotate(_ table: RotaryTable, _ x: UnsafeMutablePointer<Float>, _ tokens: Int, _ heads: Int, _ ld: Int,
                sign: Float, position: (Int) -> Int) {
    let d = table.headDim, half = d / 2
    for t in 0..<tokens {
        let pos = position(t)
        precondition(pos >= 0 && pos < table.maxPositions, "rope: position \(pos) outside table of \(table.maxPositions)")
        let cs = table.cosines + pos &* half, sn = table.sines + pos &* half
        for h in 0..<heads {
            let v = x + (t &* ld &+ h &* d)
            for i in 0..<half {
                let a = v[i], b = v[i &+ half], c = cs[i], s = sign * sn[i]
                v[i] = a * c - b * s
                v[i &+ half] = b * c + a * s
            }
        }
    }
}
