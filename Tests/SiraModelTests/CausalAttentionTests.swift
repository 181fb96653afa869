import SiraIO
import Foundation
import Testing
@testable import SiraModel

/// Causal attention (row-blocked, lower triangle only) against a naive Double reference that
/// computes every score, and its backward against that reference and finite differences.
/// Sizes are awkward and the row blocks small, so a sequence spans several blocks with a
/// ragged last one.
struct CausalAttentionTests {
    /// (batch, seq, heads, kvHeads, headDim, rowBlock)
    static let shapes: [(Int, Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 1, 1, 64), (2, 7, 4, 2, 8, 3), (1, 33, 2, 1, 5, 64), (1, 129, 3, 3, 7, 64), (2, 70, 4, 1, 8, 16),
    ]

    struct Inputs {
        var shape: AttentionShape
        var q: [Float], k: [Float], v: [Float], dOut: [Float]
    }

    static func inputs(_ c: (Int, Int, Int, Int, Int, Int), seed: UInt64) -> Inputs {
        let s = AttentionShape(batch: c.0, seq: c.1, heads: c.2, kvHeads: c.3, headDim: c.4, rowBlock: c.5)
        var rng = Xoshiro256(seed: seed)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Double(rng.next() % 2001) / 1000 - 1) } }
        let n = s.batch * s.seq
        return Inputs(shape: s, q: random(n * s.qStride), k: random(n * s.kvStride), v: random(n * s.kvStride), dOut: random(n * s.qStride))
    }

    struct Outputs { var out: [Float], dq: [Float], dk: [Float], dv: [Float] }

    static func run(_ x: Inputs, rowBlock: Int? = nil, threads: Int = 2) -> Outputs {
        var s = x.shape
        if let rowBlock { s.rowBlock = rowBlock }
        var q = x.q, k = x.k, v = x.v, dOut = x.dOut
        var out = [Float](repeating: .nan, count: q.count)
        var dq = [Float](repeating: .nan, count: q.count), dk = [Float](repeating: .nan, count: k.count), dv = dk
        q.withUnsafeMutableBufferPointer { q in k.withUnsafeMutableBufferPointer { k in v.withUnsafeMutableBufferPointer { v in
            out.withUnsafeMutableBufferPointer { o in
                let p = AttentionPointers(q: q.baseAddress!, k: k.baseAddress!, v: v.baseAddress!, out: o.baseAddress!)
                causalAttentionForward(s, p, threads: threads)
                dOut.withUnsafeMutableBufferPointer { d in dq.withUnsafeMutableBufferPointer { dq in
                    dk.withUnsafeMutableBufferPointer { dk in dv.withUnsafeMutableBufferPointer { dv in
                        causalAttentionBackward(s, p, dOut: d.baseAddress!, dq: dq.baseAddress!, dk: dk.baseAddress!, dv: dv.baseAddress!, threads: threads)
                    } }
                } }
            }
        } } }
        return Outputs(out: out, dq: dq, dk: dk, dv: dv)
    }

    /// Every score of the full `seq × seq` block, masked after the fact; the backward by the
    /// textbook formulas: dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = scale dS K,
    /// dK = scale dSᵀ Q, dV = Pᵀ dO.
    static func reference(_ x: Inputs) -> (out: [Double], dq: [Double], dk: [Double], dv: [Double]) {
        let s = x.shape, t = s.seq, hd = s.headDim, scale = 1 / Double(hd).squareRoot()
        var out = [Double](repeating: 0, count: x.q.count)
        var dq = out, dk = [Double](repeating: 0, count: x.k.count), dv = dk
        for b in 0..<s.batch {
            for h in 0..<s.heads {
                let g = h / s.group
                func q(_ i: Int, _ d: Int) -> Double { Double(x.q[(b * t + i) * s.qStride + h * hd + d]) }
                func k(_ j: Int, _ d: Int) -> Double { Double(x.k[(b * t + j) * s.kvStride + g * hd + d]) }
                func v(_ j: Int, _ d: Int) -> Double { Double(x.v[(b * t + j) * s.kvStride + g * hd + d]) }
                func dO(_ i: Int, _ d: Int) -> Double { Double(x.dOut[(b * t + i) * s.qStride + h * hd + d]) }
                for i in 0..<t {
                    var scores = (0..<t).map { j in (0..<hd).reduce(0.0) { $0 + q(i, $1) * k(j, $1) } * scale }
                    for j in (i + 1)..<max(t, i + 1) { scores[j] = -.infinity }
                    let mx = scores.max()!
                    let e = scores.map { exp($0 - mx) }, sum = e.reduce(0, +)
                    let p = e.map { $0 / sum }
                    let dP = (0..<t).map { j in (0..<hd).reduce(0.0) { $0 + dO(i, $1) * v(j, $1) } }
                    let dot = (0..<t).reduce(0.0) { $0 + p[$1] * dP[$1] }
                    for j in 0..<t {
                        let dS = p[j] * (dP[j] - dot)
                        for d in 0..<hd {
                            out[(b * t + i) * s.qStride + h * hd + d] += p[j] * v(j, d)
                            dq[(b * t + i) * s.qStride + h * hd + d] += scale * dS * k(j, d)
                            dk[(b * t + j) * s.kvStride + g * hd + d] += scale * dS * q(i, d)
                            dv[(b * t + j) * s.kvStride + g * hd + d] += p[j] * dO(i, d)
                        }
                    }
                }
            }
        }
        return (out, dq, dk, dv)
    }

    static func expectClose(_ a: [Float], _ b: [Double], _ what: String, tolerance: Double = 2e-5) {
        #expect(a.count == b.count)
        let scale = max(b.map(abs).max() ?? 0, 1e-3)
        let worst = zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= tolerance * scale, "\(what): worst |Δ| \(worst) at scale \(scale)")
    }

    @Test(arguments: 0..<shapes.count)
    func forwardAndBackwardMatchTheFullScoreReference(_ index: Int) {
        let x = Self.inputs(Self.shapes[index], seed: UInt64(11 + index))
        let got = Self.run(x), want = Self.reference(x)
        let what = "shape \(Self.shapes[index])"
        Self.expectClose(got.out, want.out, "\(what) out")
        Self.expectClose(got.dq, want.dq, "\(what) dq")
        Self.expectClose(got.dk, want.dk, "\(what) dk")
        Self.expectClose(got.dv, want.dv, "\(what) dv")
    }

    /// The row block only changes float rounding, and the thread count nothing.
    @Test func rowBlockAndThreadsDoNotChangeTheResult() {
        let x = Self.inputs((2, 45, 4, 2, 8, 64), seed: 3)
        let base = Self.run(x, rowBlock: 64, threads: 1)
        #expect(Self.run(x, rowBlock: 64, threads: 2).dk == base.dk)
        let want = Self.reference(x)
        for block in [1, 4, 13, 45, 100] {
            let got = Self.run(x, rowBlock: block)
            Self.expectClose(got.out, want.out, "block \(block) out")
            Self.expectClose(got.dk, want.dk, "block \(block) dk")
            Self.expectClose(got.dv, want.dv, "block \(block) dv")
        }
    }

    /// Directional finite differences of L = Σ dOut ⊙ out along random ±1 directions in q, k and
    /// v, against the analytic backward.
    @Test func backwardMatchesFiniteDifferences() {
        let x = Self.inputs((1, 70, 2, 1, 6, 16), seed: 9)
        let grads = Self.run(x)
        func loss(_ y: Inputs) -> Double {
            zip(Self.run(y).out, y.dOut).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        var rng = Xoshiro256(seed: 21)
        let eps: Float = 1e-2
        for (name, path, grad) in [("q", \Inputs.q, grads.dq), ("k", \Inputs.k, grads.dk), ("v", \Inputs.v, grads.dv)] {
            let direction = (0..<x[keyPath: path].count).map { _ in rng.next() & 1 == 0 ? Float(-1) : 1 }
            var plus = x, minus = x
            for i in direction.indices {
                plus[keyPath: path][i] += eps * direction[i]
                minus[keyPath: path][i] -= eps * direction[i]
            }
            let numeric = (loss(plus) - loss(minus)) / (2 * Double(eps))
            let analytic = zip(grad, direction).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            #expect(abs(numeric - analytic) <= 2e-3 * max(1, abs(analytic)), "\(name): analytic \(analytic) numeric \(numeric)")
        }
    }
}
