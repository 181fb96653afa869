import Foundation

// Rotary position embeddings, rotate-half form (HF Llama): for i < d/2 the pair
// (x[i], x[i + d/2]) is rotated by the angle pos * theta^(-2i/d).

/// Cosines and sines of every (position, frequency) pair up to `maxPositions`, computed once in
/// Double. `headDim` must be even.
public final class RotaryTable: @unchecked Sendable {
    public let headDim: Int
    public let maxPositions: Int
    public let theta: Double
    let cosines: UnsafeMutablePointer<Float>   // [maxPositions, headDim/2]
    let sines: UnsafeMutablePointer<Float>

    public init(headDim: Int, maxPositions: Int, theta: Double) {
        precondition(headDim > 0 && headDim % 2 == 0, "RotaryTable: headDim \(headDim) must be even")
        precondition(maxPositions > 0, "RotaryTable: maxPositions must be positive")
        self.headDim = headDim
        self.maxPositions = maxPositions
        self.theta = theta
        let half = headDim / 2
        cosines = .allocate(capacity: maxPositions * half)
        sines = .allocate(capacity: maxPositions * half)
        for i in 0..<half {
            let invFreq = 1 / pow(theta, Double(2 * i) / Double(headDim))
            for p in 0..<maxPositions {
                let angle = Double(p) * invFreq
                cosines[p * half + i] = Float(cos(angle))
                sines[p * half + i] = Float(sin(angle))
            }
        }
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
/// batch of sequences, or one generated token with `sequenceLength: 1`.
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
