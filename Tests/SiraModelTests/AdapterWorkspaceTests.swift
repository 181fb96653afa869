import SiraIO
import Testing
@testable import SiraModel

@Suite struct AdapterWorkspaceTests {
    /// A model runs every adapter's forward, then the backwards in reverse, all on one shared
    /// workspace: an adapter's gradients must not depend on what ran in between.
    @Test(arguments: AdapterType.allCases)
    func interleavedAdaptersGiveTheSameGradients(_ type: AdapterType) throws {
        let cfg = AdapterConfig(type: type, r: 3, loraAlpha: 6, numExperts: 4, topK: 2, capacityFactor: 0.8, expertDropout: 0.2)
        func build() throws -> (AdapterSet, AdapterProbe, AdapterProbe) {
            let set = try AdapterSet(config: cfg, seed: 5)
            let first = set.make(layer: 0, module: "q_proj", inFeatures: 13, outFeatures: 7)
            let second = set.make(layer: 0, module: "down_proj", inFeatures: 29, outFeatures: 13)
            var rng = Xoshiro256(seed: 8)
            for p in set.parameters where p.name.contains("lora_B") { fillRandom(p.value, scale: 0.5, rng: &rng) }
            let a = AdapterProbe(adapter: first, tokens: 11, mode: .training(seed: 3), rng: &rng)
            let b = AdapterProbe(adapter: second, tokens: 17, mode: .training(seed: 4), rng: &rng)
            return (set, a, b)
        }
        let (alone, a1, _) = try build()
        let dxAlone = a1.gradients()
        let gradsAlone = alone.adapters[0].adapter.parameters.map { $0.grad!.array }

        let (shared, a2, b2) = try build()
        for p in shared.parameters { p.grad?.zero() }
        _ = a2.forward()
        _ = b2.forward()
        var dxB = [Float](repeating: 0, count: b2.x.count)
        b2.x.withUnsafeBufferPointer { x in b2.c.withUnsafeBufferPointer { c in dxB.withUnsafeMutableBufferPointer {
            b2.adapter.backward(x: x.baseAddress!, dy: c.baseAddress!, dx: $0.baseAddress!, tokens: 17) } } }
        var dxA = [Float](repeating: 0, count: a2.x.count)
        a2.x.withUnsafeBufferPointer { x in a2.c.withUnsafeBufferPointer { c in dxA.withUnsafeMutableBufferPointer {
            a2.adapter.backward(x: x.baseAddress!, dy: c.baseAddress!, dx: $0.baseAddress!, tokens: 11) } } }
        #expect(dxA == dxAlone)
        let same = shared.adapters[0].adapter.parameters.map { $0.grad!.array } == gradsAlone
        #expect(same)
    }
}
