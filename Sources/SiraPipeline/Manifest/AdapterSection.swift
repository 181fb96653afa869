/// Reads `adapters:`, a mapping from variant name to hyper-parameters. The name is the kind
/// (`lora`, `molora`, `sira`, `multitask`) unless `kind:` is given, so one pipeline can compare
/// `sira` with `sira-e16: {kind: sira, num_experts: 16}`. Keys that do not apply to a kind are
/// errors, not silently ignored.
struct AdapterSection {
    let sink: DiagnosticSink

    static let common = ["kind", "r", "lora_alpha", "target_modules", "layers_to_transform"]
    static let keysByKind: [AdapterKind: [String]] = [
        .lora: common,
        .molora: common + ["num_experts"],
        .sira: common + [
            "num_experts", "top_k", "capacity_factor", "eval_capacity_factor", "expert_dropout",
            "aux_loss_weight", "z_loss_weight", "normalize_gates",
        ],
        .multitask: ["kind", "from", "temperature"],
    ]
    static let allKeys = Array(Set(keysByKind.values.joined())).sorted()
    static let projections = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    func read(_ value: YAMLValue?) -> [AdapterVariant] {
        guard let value, let m = value.map() else { return [] }
        var out: [AdapterVariant] = []
        var multitaskValues: [(Int, YAMLValue)] = []
        let entries = m.allEntries()
        if entries.isEmpty { value.fail("must name at least one adapter variant (lora, molora, sira, multitask)") }
        for (name, v) in entries {
            guard ManifestSections.isValidName(name) else {
                v.fail("variant name '\(name)' must use only letters, digits, '-', '_' and '.'")
                continue
            }
            if name == "base" {
                v.fail("'base' is reserved (the base model is evaluated as 'base')")
                continue
            }
            if name == StageID.bundleVariant {
                v.fail("'\(name)' is reserved (the package of every task's chosen adapter)")
                continue
            }
            let vm: YAMLMap?
            if v.isNull { vm = nil } else {
                guard let mm = v.map() else { continue }
                vm = mm
            }
            var kind = AdapterKind(rawValue: name)
            if let kv = vm?.value("kind") {
                kind = kv.oneOf(AdapterKind.self)
                if kind == nil { continue }
            } else if kind == nil {
                v.fail("'\(name)' is not an adapter kind\(Suggest.hint(name, AdapterKind.allCases.map(\.rawValue))); add 'kind: lora | molora | sira | multitask'")
                continue
            }
            let k = kind!
            var a = ManifestDefaults.variant(k, name: name)
            if let vm { readParameters(vm, kind: k, into: &a) }
            if k == .multitask { multitaskValues.append((out.count, v)) }
            out.append(a)
        }
        for (index, v) in multitaskValues {
            resolveMultitask(&out, index: index, at: v)
        }
        return out
    }

    /// `exclude`: keys that are not allowed in this place (reported as not applicable).
    func readParameters(_ m: YAMLMap, kind: AdapterKind, into a: inout AdapterVariant, exclude: Set<String> = []) {
        if kind == .multitask {
            a.from = m.value("from")?.string() ?? ManifestDefaults.multitaskFrom
            a.mixingTemperature = m.value("temperature")?.double(0 ... 1000, exclusiveLower: true)
        } else {
            a.r = m.value("r")?.int(1 ... 4096) ?? a.r
            a.loraAlpha = m.value("lora_alpha")?.double(0 ... 1e6, exclusiveLower: true) ?? a.loraAlpha
            if let tv = m.value("target_modules"), let list = tv.stringList() {
                for t in list where !Self.projections.contains(t) {
                    tv.fail("'\(t)' is not a projection\(Suggest.hint(t, Self.projections)) (one of \(Self.projections.joined(separator: ", ")))")
                }
                if list.isEmpty { tv.fail("must name at least one projection") }
                if Set(list).count != list.count { tv.fail("lists a projection twice") }
                a.targetModules = list
            }
            if let lv = m.value("layers_to_transform"), let items = lv.list() {
                let layers = items.compactMap { $0.int(0 ... 4095) }
                if layers.isEmpty { lv.fail("must name at least one layer index") }
                if Set(layers).count != layers.count { lv.fail("lists a layer twice") }
                a.layersToTransform = layers.sorted()
            }
            if kind == .molora || kind == .sira {
                a.numExperts = m.value("num_experts")?.int(1 ... 1024) ?? a.numExperts
                if kind == .molora { a.topK = a.numExperts }
            }
            if kind == .sira {
                let topKValue = m.value("top_k")
                a.topK = topKValue?.int(1 ... 1024) ?? a.topK
                if a.topK > a.numExperts {
                    sink.report(topKValue?.mark ?? m.mark, m.childPath("top_k"), "top_k (\(a.topK)) must be ≤ num_experts (\(a.numExperts))")
                }
                a.capacityFactor = m.value("capacity_factor")?.double(0 ... 1e6, exclusiveLower: true) ?? a.capacityFactor
                if let e = m.value("eval_capacity_factor"), !e.isNull {
                    a.evalCapacityFactor = e.double(0 ... 1e6, exclusiveLower: true)
                }
                a.expertDropout = m.value("expert_dropout")?.double(0 ... 0.99) ?? a.expertDropout
                a.auxLossWeight = m.value("aux_loss_weight")?.double(0 ... 1e3) ?? a.auxLossWeight
                a.zLossWeight = m.value("z_loss_weight")?.double(0 ... 1e3) ?? a.zLossWeight
                a.normalizeGates = m.value("normalize_gates")?.bool() ?? a.normalizeGates
            }
        }
        if !exclude.contains("kind") { m.markUsed("kind") }
        let allowed = Set(Self.keysByKind[kind]!).subtracting(exclude)
        var notApplicable: [String: String] = [:]
        for key in Self.allKeys where !allowed.contains(key) {
            notApplicable[key] = exclude.contains(key) ? "not allowed here" : "does not apply to \(kind.rawValue) adapters"
        }
        m.finish(known: Self.allKeys, notApplicable: notApplicable)
    }

    /// `multitask` copies the architecture and hyper-parameters of the variant it names.
    private func resolveMultitask(_ variants: inout [AdapterVariant], index: Int, at value: YAMLValue) {
        let source = variants[index].from ?? ManifestDefaults.multitaskFrom
        let candidates = variants.filter { $0.kind != .multitask }.map(\.name)
        guard let base = variants.first(where: { $0.name == source && $0.kind != .multitask }) else {
            let at = (value.node.mapping != nil ? value.map()?.value("from") : nil) ?? value
            at.fail("multitask trains a copy of '\(source)', which is not a variant here\(Suggest.hint(source, candidates))\(candidates.isEmpty ? "" : " (variants: \(candidates.joined(separator: ", ")))")")
            return
        }
        var copy = base
        copy.name = variants[index].name
        copy.kind = .multitask
        copy.architecture = base.architecture
        copy.from = source
        variants[index] = copy
    }
}
