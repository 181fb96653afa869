import Foundation
import Testing
@testable import SiraKernels

struct SwiGLUTests {
    static func siluRef(_ x: Double) -> Double { x / (1 + Foundation.exp(-x)) }

    @Test("swiglu forward matches a Double reference (rel. error <= 1e-5)", arguments: [1, 7, 33, 129])
    func forward(count: Int) {
        var rng = TestRNG(seed: UInt64(count))
        let g = rng.floats(count, scale: 8), u = rng.floats(count, scale: 2)
        var p = [Float](repeating: 0, count: count)
        swigluForward(gate: g, up: u, out: &p, count: count)
        for i in 0..<count {
            let s = Self.siluRef(Double(g[i]))
            #expect(abs(Double(p[i]) - s * Double(u[i])) <= 1e-5 * (abs(s * Double(u[i])) + 1e-6))
        }
    }

    @Test("swiglu backward matches central finite differences")
    func backward() {
        var rng = TestRNG(seed: 9)
        let n = 33
        var g = rng.floats(n, scale: 4), u = rng.floats(n, scale: 2)
        let w = rng.floats(n)
        var dg = [Float](repeating: 0, count: n), du = [Float](repeating: 0, count: n)
        swigluBackward(gate: g, up: u, dOut: w, dGate: &dg, dUp: &du, count: n)
        func loss(_ g: [Float], _ u: [Float]) -> Double {
            var p = [Float](repeating: 0, count: n); swigluForward(gate: g, up: u, out: &p, count: n); return weightedSum(p, w)
        }
        let uc = u
        let fdg = (0..<n).map { i in finiteDifference(&g, at: i, h: 1e-2) { loss($0, uc) } }
        let gc = g
        let fdu = (0..<n).map { i in finiteDifference(&u, at: i, h: 1e-2) { loss(gc, $0) } }
        expectGradientsMatch(dg, fdg, "swiglu dgate")
        expectGradientsMatch(du, fdu, "swiglu dup")
    }
}
