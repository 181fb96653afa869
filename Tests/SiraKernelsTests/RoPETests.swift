import Foundation
import Testing
@testable import SiraKernels

struct RoPETests {
    /// HF Llama: q*cos + rotate_half(q)*sin with inv_freq[i] = theta^(-2i/d), emb = cat(freqs, freqs).
    static func reference(_ v: [Double], position: Int, theta: Double) -> [Double] {
        let d = v.count, half = d / 2
        var out = v
        for j in 0..<d {
            let i = j % half
            let angle = Double(position) / pow(theta, Double(2 * i) / Double(d))
            let rotated = j < half ? -v[j + half] : v[j - half]
            out[j] = v[j] * cos(angle) + rotated * sin(angle)
        }
        return out
    }

    @Test("forward matches the HF rotate-half formula (abs. error <= 2e-6 * |x|)", arguments: [2, 8, 66])
    func forward(headDim: Int) {
        var rng = TestRNG(seed: UInt64(headDim))
        let tokens = 7, heads = 3, ld = heads * headDim + 4
        let table = RotaryTable(headDim: headDim, maxPositions: 40, theta: 10000)
        let x0 = rng.floats(tokens * ld)
        var x = x0
        let positions = [0, 1, 5, 39, 2, 2, 17]
        ropeForward(table: table, x: &x, tokens: tokens, heads: heads, positions: positions, ld: ld)
        for t in 0..<tokens {
            for h in 0..<heads {
                let base = t * ld + h * headDim
                let ref = Self.reference((0..<headDim).map { Double(x0[base + $0]) }, position: positions[t], theta: 10000)
                for j in 0..<headDim { #expect(abs(Double(x[base + j]) - ref[j]) <= 4e-6) }
            }
            for j in (heads * headDim)..<ld { #expect(x[t * ld + j] == x0[t * ld + j], "padding changed") }
        }
    }

    @Test("sequence form equals explicit positions; backward is the inverse and matches finite differences")
    func sequenceFormAndBackward() {
        var rng = TestRNG(seed: 3)
        let headDim = 6, heads = 2, tokens = 9, seq = 4
        let table = RotaryTable(headDim: headDim, maxPositions: 16, theta: 500000)
        var x = rng.floats(tokens * heads * headDim)
        var a = x, b = x
        ropeForward(table: table, x: &a, tokens: tokens, heads: heads, sequenceLength: seq, startPosition: 3)
        let positions = (0..<tokens).map { 3 + $0 % seq }
        ropeForward(table: table, x: &b, tokens: tokens, heads: heads, positions: positions)
        #expect(a == b)
        ropeBackward(table: table, dx: &a, tokens: tokens, heads: heads, sequenceLength: seq, startPosition: 3)
        for i in 0..<x.count { #expect(abs(a[i] - x[i]) <= 1e-6) }

        let w = rng.floats(x.count)
        var dx = w
        ropeBackward(table: table, dx: &dx, tokens: tokens, heads: heads, positions: positions)
        let fd = (0..<x.count).map { i in
            finiteDifference(&x, at: i, h: 1e-2) { x in
                var y = x
                ropeForward(table: table, x: &y, tokens: tokens, heads: heads, positions: positions)
                return weightedSum(y, w)
            }
        }
        expectGradientsMatch(dx, fd, absTol: 5e-4, "rope")
    }

    @Test("a table grown by reserve (3 → 129 positions) rotates exactly as one built at full size, with given frequencies")
    func growsOnDemand() {
        var rng = TestRNG(seed: 33)
        let headDim = 6, heads = 2, tokens = 129
        // Scaled frequencies as a model passes them (here halved, like rope_scaling linear with factor 2).
        let inv = (0..<headDim / 2).map { 0.5 / pow(500000, Double(2 * $0) / Double(headDim)) }
        let grown = RotaryTable(inverseFrequencies: inv, maxPositions: 3)
        grown.reserve(tokens)
        #expect(grown.maxPositions >= tokens && grown.headDim == headDim)
        let whole = RotaryTable(inverseFrequencies: inv, maxPositions: tokens)
        let x0 = rng.floats(tokens * heads * headDim)
        var a = x0, b = x0
        ropeForward(table: grown, x: &a, tokens: tokens, heads: heads, sequenceLength: .max)
        ropeForward(table: whole, x: &b, tokens: tokens, heads: heads, sequenceLength: .max)
        #expect(a == b)
        // And against the Double formula at the scaled angles (theta' with 0.5·invFreq: positions halved).
        for t in [0, 1, 2, 3, 64, 128] {
            for h in 0..<heads {
                let base = (t * heads + h) * headDim
                let v = (0..<headDim).map { Double(x0[base + $0]) }
                let half = headDim / 2
                for j in 0..<headDim {
                    let angle = Double(t) * inv[j % half]
                    let rotated = j < half ? -v[j + half] : v[j - half]
                    #expect(abs(Double(a[base + j]) - (v[j] * cos(angle) + rotated * sin(angle))) <= 4e-6, "t \(t) j \(j)")
                }
            }
        }
    }
}
