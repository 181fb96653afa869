import Foundation
import Testing
@testable import SiraKernels

struct VectorMathTests {
    @Test("simdExp within 2.5e-7 relative of Double exp over [-87, 88]; limits, NaN")
    func expAccuracy() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let v = SIMD8<Float>((0..<8).map { x + Float($0) * 0.013 })
            let e = simdExp(v)
            for j in 0..<8 {
                let ref = Foundation.exp(Double(v[j]))
                worst = max(worst, abs(Double(e[j]) - ref) / ref)
            }
            x += 0.0917
        }
        #expect(worst <= 2.5e-7, "worst relative error \(worst)")
        let edge = simdExp(SIMD8<Float>(-.infinity, -100, 0, 1, .infinity, 100, .nan, -0.0))
        #expect(edge[0] == 0 && edge[1] == 0 && edge[2] == 1 && abs(edge[3] - 2.7182817) < 1e-6)
        #expect(edge[4] == .infinity && edge[5] == .infinity && edge[6].isNaN && edge[7] == 1)
    }

    @Test("softmax, RMSNorm, SwiGLU and cross-entropy give bit-identical results on 1 and 2 threads")
    func threadInvariance() {
        var rng = TestRNG(seed: 71)
        let rows = 70, cols = 513
        let x = rng.floats(rows * cols, scale: 4), w = rng.floats(cols), up = rng.floats(rows * cols)
        var outputs: [[[Float]]] = []
        for threads in [1, 2] {
            var s = [Float](repeating: 0, count: rows * cols), ds = [Float](repeating: 0, count: rows * cols)
            softmaxForward(x: x, y: &s, rows: rows, cols: cols, scale: 0.3, causalOffset: 200, threads: threads)
            softmaxBackward(y: s, dy: up, dx: &ds, rows: rows, cols: cols, scale: 0.3, causalOffset: 200, threads: threads)
            var y = [Float](repeating: 0, count: rows * cols), inv = [Float](repeating: 0, count: rows)
            rmsNormForward(x: x, weight: w, y: &y, invRMS: &inv, rows: rows, dim: cols, eps: 1e-6, threads: threads)
            var dx = [Float](repeating: 0, count: rows * cols), dw = [Float](repeating: 0, count: cols)
            rmsNormBackward(x: x, weight: w, invRMS: inv, dy: up, dx: &dx, dWeight: &dw, rows: rows, dim: cols, threads: threads)
            var p = [Float](repeating: 0, count: rows * cols), dg = p, du = p
            swigluForward(gate: x, up: up, out: &p, count: rows * cols, threads: threads)
            swigluBackward(gate: x, up: up, dOut: Array(up.reversed()), dGate: &dg, dUp: &du, count: rows * cols, threads: threads)
            var d = [Float](repeating: 0, count: rows * cols)
            let targets = (0..<rows).map { Int32($0 * 7 % cols) }
            d = x
            let ce = softmaxCrossEntropy(logits: &d, targets: targets, weights: [Float](repeating: 1, count: rows),
                                         rows: rows, vocab: cols, gradScale: 1, threads: threads)
            outputs.append([s, ds, y, inv, dx, dw, p, dg, du, d, [Float(ce.nllSum)]])
        }
        for (i, name) in ["softmax", "softmax bwd", "rmsnorm", "invRMS", "rmsnorm dx", "rmsnorm dw", "swiglu",
                          "swiglu dgate", "swiglu dup", "ce dlogits", "ce loss"].enumerated() {
            #expect(outputs[0][i] == outputs[1][i], "\(name)")
        }
    }
}
