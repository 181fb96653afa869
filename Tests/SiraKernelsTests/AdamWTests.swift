import Foundation
import Testing
@testable import SiraKernels

struct AdamWTests {
    @Test("three steps match a Double transcription of torch.optim.AdamW (rel. error <= 1e-5)")
    func matchesReference() {
        var rng = TestRNG(seed: 41)
        let n = 33
        let config = AdamWConfig(learningRate: 1e-2, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        var p = rng.floats(n), m = [Float](repeating: 0, count: n), v = [Float](repeating: 0, count: n)
        var pr = p.map(Double.init), mr = [Double](repeating: 0, count: n), vr = [Double](repeating: 0, count: n)
        for step in 1...3 {
            let g = rng.floats(n, scale: Float(step))
            adamwStep(parameters: &p, gradients: g, m: &m, v: &v, count: n, step: step, config: config)
            for i in 0..<n {
                let gi = Double(g[i])
                pr[i] *= 1 - 1e-2 * 0.1                     // torch: param.mul_(1 - lr * wd)
                mr[i] = 0.9 * mr[i] + 0.1 * gi
                vr[i] = 0.95 * vr[i] + 0.05 * gi * gi
                let mh = mr[i] / (1 - pow(0.9, Double(step))), vh = vr[i] / (1 - pow(0.95, Double(step)))
                pr[i] -= 1e-2 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        for i in 0..<n {
            #expect(abs(Double(p[i]) - pr[i]) <= 1e-5 * max(abs(pr[i]), 1e-2), "param \(i)")
            #expect(abs(Double(m[i]) - mr[i]) <= 1e-5 * max(abs(mr[i]), 1e-3))
            #expect(abs(Double(v[i]) - vr[i]) <= 1e-5 * max(abs(vr[i]), 1e-6))
        }
    }

    @Test("first step moves each parameter by about lr against the gradient sign (bias correction)")
    func firstStepMagnitude() {
        var p: [Float] = [1, -1, 0.5]
        var m = [Float](repeating: 0, count: 3), v = [Float](repeating: 0, count: 3)
        adamwStep(parameters: &p, gradients: [0.001, -3, 20], m: &m, v: &v, count: 3, step: 1,
                  config: AdamWConfig(learningRate: 0.1, weightDecay: 0))
        #expect(abs(p[0] - 0.9) < 1e-4 && abs(p[1] - -0.9) < 1e-4 && abs(p[2] - 0.4) < 1e-4)
    }
}
