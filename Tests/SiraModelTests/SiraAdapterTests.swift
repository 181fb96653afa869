import SiraIO
import Foundation
import Testing
@testable import SiraModel

@Suite struct SiraAdapterTests {
    static func make(inF: Int, outF: Int, r: Int = 3, E: Int, k: Int, capacity: Double?, dropout: Double = 0,
                     normalize: Bool = true, aux: Double = 0.01, z: Double = 0, evalCapacity: Double? = nil,
                     seed: UInt64) -> SiraAdapter {
        let cfg = AdapterConfig(type: .sira, r: r, loraAlpha: Double(2 * r), numExperts: E, topK: k, capacityFactor: capacity,
                                evalCapacityFactor: evalCapacity, expertDropout: dropout, normalizeGates: normalize,
                                auxLossWeight: aux, zLossWeight: z)
        let s = SiraAdapter(prefix: "base_model.model.model.layers.0.self_attn.q_proj", inFeatures: inF, outFeatures: outF, config: cfg, seed: seed)
        var rng = Xoshiro256(seed: seed &+ 99)
        for b in s.expertB { fillRandom(b.value, scale: 0.6, rng: &rng) }
        fillRandom(s.router.value, scale: 1.0, rng: &rng)
        return s
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var capacity: Double?
        var dropout: Double
        var normalize: Bool
        var training: Bool
        var testDescription: String { "cf=\(capacity.map { "\($0)" } ?? "none") p=\(dropout) norm=\(normalize) train=\(training)" }
    }

    static let referenceCases: [Case] = [
        Case(capacity: nil, dropout: 0, normalize: true, training: true),
        Case(capacity: 0.5, dropout: 0, normalize: true, training: true),
        Case(capacity: 1.0, dropout: 0.3, normalize: false, training: true),
        Case(capacity: 0.5, dropout: 0.3, normalize: true, training: false),
    ]

    @Test(arguments: referenceCases)
    func matchesNaiveDenseReference(_ c: Case) {
        let s = Self.make(inF: 13, outF: 7, E: 5, k: 2, capacity: c.capacity, dropout: c.dropout, normalize: c.normalize, z: 0.1,
                          evalCapacity: c.capacity, seed: 21)
        var rng = Xoshiro256(seed: 5)
        let mode: AdapterMode = c.training ? .training(seed: 77) : .evaluation
        let probe = AdapterProbe(adapter: s, tokens: 33, mode: mode, rng: &rng)
        let y = probe.forward().y
        let ref = SiraReference(s, x: probe.x, tokens: 33, mode: mode)
        let routing = s.lastRouting
        #expect(routing.choices.map(Int.init) == ref.choices)
        #expect(routing.keep.map(Double.init) == ref.keep.map { Double(Float($0)) })
        for i in 0..<y.count { #expect(abs(Double(y[i]) - ref.y[i]) < 1e-4, "y[\(i)]") }
        let expectedAux = 0.01 * ref.balanceLoss + 0.1 * ref.zLoss
        #expect(abs(Double(s.auxiliaryLoss) - expectedAux) < 1e-5 * max(1, expectedAux))
        let stats = s.lastStatistics
        #expect(stats.dropped == ref.granted.filter { !$0 }.count)
        #expect(abs(stats.balanceLoss - ref.balanceLoss) < 1e-5)
        if c.capacity == 0.5 { #expect(stats.dropped > 0) }
        if c.dropout > 0 && c.training { #expect(routing.keep.contains(0) && routing.keep.contains { $0 > 1 }) }
        if !c.training { #expect(!routing.keep.contains { $0 > 1 }) }
    }

    static let gradientCases: [Case] = [
        Case(capacity: nil, dropout: 0, normalize: true, training: true),
        Case(capacity: nil, dropout: 0, normalize: false, training: true),
        Case(capacity: 0.6, dropout: 0, normalize: true, training: true),
        Case(capacity: 0.6, dropout: 0.35, normalize: true, training: true),
        Case(capacity: 0.6, dropout: 0.35, normalize: false, training: true),
        Case(capacity: 0.6, dropout: 0, normalize: true, training: false),
    ]

    @Test(arguments: gradientCases)
    func gradientsMatchFiniteDifferences(_ c: Case) {
        // Heavy aux and z weights so their gradients are visible next to the task term.
        let s = Self.make(inF: 7, outF: 5, r: 3, E: 4, k: 2, capacity: c.capacity, dropout: c.dropout, normalize: c.normalize,
                          aux: 0.7, z: 0.2, evalCapacity: c.capacity, seed: 8)
        var rng = Xoshiro256(seed: 3)
        let mode: AdapterMode = c.training ? .training(seed: 12) : .evaluation
        var probe = AdapterProbe(adapter: s, tokens: 9, mode: mode, rng: &rng)
        _ = probe.forward()
        if c.capacity != nil { #expect(s.lastStatistics.dropped > 0, "the case must exercise capacity drops") }
        if c.dropout > 0 { #expect(s.lastRouting.keep.filter { $0 == 0 }.count > s.lastStatistics.dropped, "and dropout") }
        let skipped = checkGradients(&probe, maxPerTensor: 40) {
            let r = s.lastRouting
            return r.choices.map(Float.init) + r.keep
        }
        #expect(skipped < 10)
    }

    @Test func auxiliaryGradientAloneReachesTheRouter() {
        // With B = 0 the task term has no router gradient: all of it comes from the aux losses.
        let s = Self.make(inF: 5, outF: 3, E: 3, k: 1, capacity: nil, aux: 1, z: 0.5, seed: 4)
        for b in s.expertB { b.value.zero() }
        var rng = Xoshiro256(seed: 9)
        var probe = AdapterProbe(adapter: s, tokens: 7, mode: .training(seed: 1), rng: &rng)
        _ = probe.gradients()
        #expect(s.router.grad!.array.contains { abs($0) > 1e-4 })
        checkGradients(&probe) { s.lastRouting.choices.map(Float.init) }
    }

    @Test func costFollowsKNotE() {
        var rng = Xoshiro256(seed: 1)
        let tokens = 129
        for experts in [4, 16] {
            let s = Self.make(inF: 33, outF: 17, r: 4, E: experts, k: 2, capacity: nil, seed: 2)
            let probe = AdapterProbe(adapter: s, tokens: tokens, mode: .training(seed: 0), rng: &rng)
            _ = probe.gradients()
            #expect(s.rowsComputed == tokens * 2, "E=\(experts): rows passed to expert GEMMs")
        }
        let capped = Self.make(inF: 33, outF: 17, r: 4, E: 16, k: 2, capacity: 1.0, seed: 2)
        let probe = AdapterProbe(adapter: capped, tokens: tokens, mode: .training(seed: 0), rng: &rng)
        _ = probe.forward()
        let stats = capped.lastStatistics
        #expect(stats.dropped > 0)
        #expect(capped.rowsComputed == stats.granted.reduce(0, +))
        #expect(capped.rowsComputed == tokens * 2 - stats.dropped)
        #expect(stats.granted.allSatisfy { $0 <= 17 }, "C = ceil(1.0 * 2 * 129 / 16) = 17")
    }

    @Test func evaluationHasNoCapacityLimitByDefault() {
        let s = Self.make(inF: 6, outF: 3, E: 3, k: 2, capacity: 0.5, dropout: 0.5, seed: 10)
        var rng = Xoshiro256(seed: 4)
        let probe = AdapterProbe(adapter: s, tokens: 20, mode: .evaluation, rng: &rng)
        _ = probe.forward()
        #expect(s.lastStatistics.dropped == 0 && s.rowsComputed == 40)
        #expect(s.lastRouting.keep.allSatisfy { $0 == 1 })
    }

    @Test func dropoutRateAndScaleAreAsConfigured() {
        let s = Self.make(inF: 8, outF: 4, E: 4, k: 2, capacity: nil, dropout: 0.25, seed: 6)
        var rng = Xoshiro256(seed: 2)
        let probe = AdapterProbe(adapter: s, tokens: 1000, mode: .training(seed: 5), rng: &rng)
        _ = probe.forward()
        let keep = s.lastRouting.keep
        let zeroed = Double(keep.filter { $0 == 0 }.count) / Double(keep.count)
        #expect(abs(zeroed - 0.25) < 0.03)
        #expect(keep.filter { $0 != 0 }.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        // Same seed, same mask; another seed, another mask.
        _ = probe.forward()
        #expect(s.lastRouting.keep == keep)
        let other = AdapterProbe(adapter: s, tokens: 1000, mode: .training(seed: 6), rng: &rng)
        var otherProbe = other
        otherProbe.x = probe.x
        _ = otherProbe.forward()
        #expect(s.lastRouting.keep != keep)
    }

    @Test func statisticsDescribeTheRouting() {
        let s = Self.make(inF: 6, outF: 3, E: 3, k: 2, capacity: 0.5, seed: 10)
        var rng = Xoshiro256(seed: 4)
        let probe = AdapterProbe(adapter: s, tokens: 20, mode: .training(seed: 0), rng: &rng)
        _ = probe.forward()
        let st = s.lastStatistics
        #expect(st.assignments == 40 && st.tokens == 20 && st.calls == 1)
        #expect(st.routed.reduce(0, +) == 40)
        #expect(st.granted.reduce(0, +) + st.dropped == 40)
        #expect(abs(st.load.reduce(0, +) - 1) < 1e-12)
        #expect(st.meanEntropy > 0 && st.meanEntropy <= log(3.0) + 1e-9)
        var merged = st
        merged.merge(st)
        #expect(merged.droppedFraction == st.droppedFraction && merged.calls == 2 && merged.balanceLoss == st.balanceLoss)
    }

    @Test func adapterSetAveragesAuxiliaryLossOverSiraLayers() throws {
        let set = try AdapterSet(config: AdapterConfig(type: .sira, r: 2, numExperts: 3, topK: 1), seed: 1)
        let a = set.make(layer: 0, module: "q_proj", inFeatures: 4, outFeatures: 4)
        let b = set.make(layer: 1, module: "down_proj", inFeatures: 6, outFeatures: 4)
        let sa = try #require(a as? SiraAdapter), sb = try #require(b as? SiraAdapter)
        #expect(sa.auxiliaryScale == 0.5 && sb.auxiliaryScale == 0.5)
        #expect(sb.router.name == "base_model.model.model.layers.1.mlp.down_proj.sira.router.weight")
        #expect(set.parameters.count == 2 * (1 + 2 * 3))
        // Initialisation depends on the name, not the attachment order.
        let other = try AdapterSet(config: set.config, seed: 1)
        let b2 = other.make(layer: 1, module: "down_proj", inFeatures: 6, outFeatures: 4) as! SiraAdapter
        #expect(b2.router.value.array == sb.router.value.array)
    }
}
