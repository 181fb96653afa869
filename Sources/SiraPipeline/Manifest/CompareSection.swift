/// Reads `compare:` (`ComparisonSpec`), in the style of the other sections: defaults from
/// `ManifestDefaults`, every problem reported as `file:line: compare.key: problem`, unknown keys
/// are errors.
///
/// ```yaml
/// compare:
///   seeds: [0, 1, 2]
///   arms: [lora, lora-wide, molora, sira, multitask]     # default: all five
///   sira: {r: 4, lora_alpha: 16, num_experts: 4, top_k: 2, capacity_factor: 1.25, expert_dropout: 0.1}
///   lora: {r: 4, lora_alpha: 16}                          # default: sira's r and lora_alpha
///   temperature: 2                                        # multitask mixing
///   ablations: {top_k: [1], num_experts: [8], capacity_factor: [2.0], expert_dropout: [0.0]}
/// ```
struct CompareSection {
    let sink: DiagnosticSink

    static let keys = ["seeds", "arms", "sira", "lora", "temperature", "ablations"]
    static let ablationKeys = ["top_k", "num_experts", "capacity_factor", "expert_dropout"]

    func read(_ value: YAMLValue?, train: TrainSpec) -> ComparisonSpec? {
        guard let value, let m = value.map() else { return nil }
        var spec = ComparisonSpec(
            seeds: [train.seed], arms: ComparisonSpec.Arm.allCases, sira: ManifestDefaults.variant(.sira, name: "sira"),
            loraRank: 0, loraAlpha: 0, temperature: ManifestDefaults.mixingTemperature, ablations: .init()
        )
        if let sv = m.value("seeds"), let list = sv.list() {
            let seeds = list.compactMap { $0.int(0 ... Int(Int32.max)) }
            if list.isEmpty { sv.fail("must list at least one seed") }
            if Set(seeds).count != seeds.count { sv.fail("lists a seed twice") }
            if seeds.count == list.count, !seeds.isEmpty, Set(seeds).count == seeds.count { spec.seeds = seeds }
        }
        if let av = m.value("arms"), let list = av.list() {
            let arms = list.compactMap { $0.oneOf(ComparisonSpec.Arm.self) }
            if list.isEmpty { av.fail("must name at least one arm (\(ComparisonSpec.Arm.allCases.map(\.rawValue).joined(separator: ", ")))") }
            if Set(arms).count != arms.count { av.fail("names an arm twice") }
            if arms.count == list.count, !arms.isEmpty, Set(arms).count == arms.count { spec.arms = arms }
        }
        if let sv = m.value("sira") {
            if let sm = sv.map() { AdapterSection(sink: sink).readParameters(sm, kind: .sira, into: &spec.sira, exclude: ["kind"]) }
        }
        spec.loraRank = spec.sira.r
        spec.loraAlpha = spec.sira.loraAlpha
        if let lv = m.value("lora"), let lm = lv.map() {
            spec.loraRank = lm.value("r")?.int(1 ... 4096) ?? spec.loraRank
            spec.loraAlpha = lm.value("lora_alpha")?.double(0 ... 1e6, exclusiveLower: true) ?? spec.loraAlpha
            lm.finish(known: ["r", "lora_alpha"], notApplicable: ["target_modules": "every arm adapts the same modules: set target_modules under compare.sira",
                                                                         "layers_to_transform": "every arm adapts the same layers: set layers_to_transform under compare.sira"])
        }
        spec.temperature = m.value("temperature")?.double(0 ... 1000, exclusiveLower: true) ?? spec.temperature
        if let av = m.value("ablations"), let am = av.map() {
            var a = ComparisonSpec.Ablations()
            a.topK = ints(am.value("top_k"), 1 ... 1024)
            for (k, v) in zip(a.topK, am.value("top_k")?.list() ?? []) where k > spec.sira.numExperts {
                v.fail("top_k \(k) is more than compare.sira.num_experts (\(spec.sira.numExperts))")
            }
            a.numExperts = ints(am.value("num_experts"), 1 ... 1024)
            for (e, v) in zip(a.numExperts, am.value("num_experts")?.list() ?? []) where e < spec.sira.topK {
                v.fail("num_experts \(e) is fewer than compare.sira.top_k (\(spec.sira.topK))")
            }
            a.capacityFactor = doubles(am.value("capacity_factor"), 0 ... 1e6, exclusiveLower: true)
            a.expertDropout = doubles(am.value("expert_dropout"), 0 ... 0.99, exclusiveLower: false)
            am.finish(known: Self.ablationKeys)
            spec.ablations = a
        }
        m.finish(known: Self.keys)
        return spec
    }

    private func ints(_ value: YAMLValue?, _ range: ClosedRange<Int>) -> [Int] {
        guard let value, let list = value.list() else { return [] }
        if list.isEmpty { value.fail("must list at least one value (or leave the key out)") }
        return list.compactMap { $0.int(range) }
    }

    private func doubles(_ value: YAMLValue?, _ range: ClosedRange<Double>, exclusiveLower: Bool) -> [Double] {
        guard let value, let list = value.list() else { return [] }
        if list.isEmpty { value.fail("must list at least one value (or leave the key out)") }
        return list.compactMap { $0.double(range, exclusiveLower: exclusiveLower) }
    }
}
