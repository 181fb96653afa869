import SiraIO
import Foundation
import Testing
@testable import SiraModel

@Suite struct MoLoRAAdapterTests {
    @Test func forwardIsTheDenseSoftMixture() {
        var rng = Xoshiro256(seed: 11)
        let (inF, outF, r, E, T) = (9, 5, 2, 3, 4)
        let m = MoLoRAAdapter(prefix: "p", inFeatures: inF, outFeatures: outF, rank: r, alpha: 4, experts: E, seed: 5)
        for b in m.expertB { fillRandom(b.value, scale: 0.5, rng: &rng) }
        let probe = AdapterProbe(adapter: m, tokens: T, mode: .evaluation, rng: &rng)
        let y = probe.forward().y
        for t in 0..<T {
            let x = (0..<inF).map { Double(probe.x[t * inF + $0]) }
            let logits = (0..<E).map { e in (0..<inF).reduce(0.0) { $0 + Double(m.router.value[e * inF + $1]) * x[$1] } }
            let mx = logits.max()!
            let ex = logits.map { Foundation.exp($0 - mx) }
            let p = ex.map { $0 / ex.reduce(0, +) }
            for o in 0..<outF {
                var sum = 0.0
                for e in 0..<E {
                    for j in 0..<r {
                        let ax = (0..<inF).reduce(0.0) { $0 + Double(m.expertA[e].value[j * inF + $1]) * x[$1] }
                        sum += p[e] * 2 * Double(m.expertB[e].value[o * r + j]) * ax
                    }
                }
                #expect(abs(Double(y[t * outF + o]) - sum) < 1e-5)
            }
        }
        #expect(m.parameters.map(\.name).prefix(3) == ["p.molora.router.weight", "p.molora.experts.0.lora_A.weight", "p.molora.experts.0.lora_B.weight"])
    }

    @Test(arguments: [(1, 7, 3, 1, 1), (7, 13, 5, 3, 4), (9, 5, 11, 2, 3)])
    func gradientsMatchFiniteDifferences(_ dims: (Int, Int, Int, Int, Int)) {
        let (tokens, inF, outF, r, E) = dims
        var rng = Xoshiro256(seed: UInt64(tokens * 31 + E))
        let m = MoLoRAAdapter(prefix: "p", inFeatures: inF, outFeatures: outF, rank: r, alpha: 3, experts: E, seed: 4)
        for b in m.expertB { fillRandom(b.value, scale: 0.7, rng: &rng) }
        fillRandom(m.router.value, scale: 0.8, rng: &rng)
        var probe = AdapterProbe(adapter: m, tokens: tokens, mode: .training(seed: 2), rng: &rng)
        checkGradients(&probe)
    }
}
