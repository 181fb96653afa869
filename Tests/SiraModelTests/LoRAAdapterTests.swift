import SiraIO
import Testing
@testable import SiraModel

@Suite struct LoRAAdapterTests {
    @Test func initialisationMatchesPEFT() {
        let lora = LoRAAdapter(prefix: "p", inFeatures: 33, outFeatures: 7, rank: 4, alpha: 8, seed: 1)
        let bound = 1 / Float(33).squareRoot()
        #expect(lora.a.value.array.allSatisfy { abs($0) <= bound })
        #expect(lora.a.value.array.contains { abs($0) > bound * 0.5 })
        #expect(lora.b.value.array.allSatisfy { $0 == 0 })
        #expect(lora.a.name == "p.lora_A.weight" && lora.b.name == "p.lora_B.weight")
        #expect(lora.a.shape == [4, 33] && lora.b.shape == [7, 4])
    }

    @Test func forwardMatchesDoubleReference() {
        var rng = Xoshiro256(seed: 7)
        let (inF, outF, r, T) = (13, 7, 3, 5)
        let lora = LoRAAdapter(prefix: "p", inFeatures: inF, outFeatures: outF, rank: r, alpha: 6, seed: 2)
        fillRandom(lora.b.value, scale: 0.5, rng: &rng)
        let probe = AdapterProbe(adapter: lora, tokens: T, mode: .evaluation, rng: &rng)
        let y = probe.forward().y
        for t in 0..<T {
            for o in 0..<outF {
                var sum = 0.0
                for j in 0..<r {
                    var ax = 0.0
                    for i in 0..<inF { ax += Double(lora.a.value[j * inF + i]) * Double(probe.x[t * inF + i]) }
                    sum += Double(lora.b.value[o * r + j]) * ax
                }
                #expect(abs(Double(y[t * outF + o]) - 2 * sum) < 1e-5)
            }
        }
    }

    @Test(arguments: [(1, 1, 1, 1), (7, 33, 5, 3), (33, 7, 2, 1)])
    func gradientsMatchFiniteDifferences(_ dims: (Int, Int, Int, Int)) {
        let (tokens, inF, outF, r) = dims
        var rng = Xoshiro256(seed: UInt64(tokens * 100 + inF))
        let lora = LoRAAdapter(prefix: "p", inFeatures: inF, outFeatures: outF, rank: r, alpha: 2 * Double(r), seed: 3)
        fillRandom(lora.b.value, scale: 0.5, rng: &rng)
        var probe = AdapterProbe(adapter: lora, tokens: tokens, mode: .training(seed: 1), rng: &rng)
        checkGradients(&probe)
    }
}
