import Foundation

/// The `compare:` section: the paper's protocol (arXiv 2311.09179 §4) on the manifest's own tasks.
/// Every arm is trained on every adapted task with the same steps, the same schedule and, for a
/// given seed, the same data order; each arm once per seed, so each result is a mean ± std.
///
/// Arms:
/// - `lora`: LoRA at rank `lora.r` (default: SiRA's expert rank);
/// - `lora-wide`: LoRA with its rank raised until its trainable parameters are nearest SiRA's
///   total (experts and routers), `alpha / r` kept equal to `lora`'s;
/// - `molora`: the dense soft mixture with SiRA's experts and rank;
/// - `sira`: the sparse mixture;
/// - `multitask`: one SiRA trained on the mixture of all tasks, tasks sampled with probability
///   ∝ tokens^(1/temperature);
/// - ablations: `sira` with one of top_k, num_experts, capacity_factor or expert_dropout changed.
public struct ComparisonSpec: Sendable, Equatable, Codable {
    public enum Arm: String, Sendable, Codable, CaseIterable {
        case lora
        case loraWide = "lora-wide"
        case molora, sira, multitask
    }

    public struct Ablations: Sendable, Equatable, Codable {
        public var topK: [Int] = []
        public var numExperts: [Int] = []
        public var capacityFactor: [Double] = []
        public var expertDropout: [Double] = []

        public var isEmpty: Bool { topK.isEmpty && numExperts.isEmpty && capacityFactor.isEmpty && expertDropout.isEmpty }
    }

    public var seeds: [Int]
    public var arms: [Arm]
    /// The SiRA arm's settings (target modules shared by every arm).
    public var sira: AdapterVariant
    public var loraRank: Int
    public var loraAlpha: Double
    public var temperature: Double
    public var ablations: Ablations

    /// The arms and ablations as variants, one per arm (seed not set), in protocol order.
    public var templates: [AdapterVariant] {
        var out: [AdapterVariant] = []
        func make(_ name: String, _ kind: AdapterKind, _ change: (inout AdapterVariant) -> Void = { _ in }) -> AdapterVariant {
            var v = ManifestDefaults.variant(kind, name: name)
            v.targetModules = sira.targetModules
            v.layersToTransform = sira.layersToTransform
            change(&v)
            return v
        }
        for arm in arms {
            switch arm {
            case .lora:
                out.append(make("lora", .lora) { $0.r = loraRank; $0.loraAlpha = loraAlpha })
            case .loraWide:
                out.append(make("lora-wide", .lora) { $0.r = loraRank; $0.loraAlpha = loraAlpha; $0.matchParametersOf = "sira" })
            case .molora:
                out.append(make("molora", .molora) {
                    $0.r = sira.r; $0.loraAlpha = sira.loraAlpha; $0.numExperts = sira.numExperts; $0.topK = sira.numExperts
                })
            case .sira:
                var v = sira
                v.name = "sira"
                out.append(v)
            case .multitask:
                var v = sira
                v.name = "multitask"
                v.kind = .multitask
                v.from = "sira"
                v.mixingTemperature = temperature
                out.append(v)
            }
        }
        func ablation(_ suffix: String, _ change: (inout AdapterVariant) -> Void) {
            var v = sira
            v.name = "sira-\(suffix)"
            change(&v)
            out.append(v)
        }
        for k in ablations.topK { ablation("k\(k)") { $0.topK = k } }
        for e in ablations.numExperts { ablation("e\(e)") { $0.numExperts = e } }
        for c in ablations.capacityFactor { ablation("cf\(Self.compact(c))") { $0.capacityFactor = c } }
        for p in ablations.expertDropout { ablation("drop\(Self.compact(p))") { $0.expertDropout = p } }
        return out
    }

    /// Every variant the protocol trains: each template once per seed, named `<name>~s<seed>`
    /// when there are several seeds (`VariantName`).
    public var variants: [AdapterVariant] {
        templates.flatMap { t in
            seeds.map { seed in
                var v = t
                v.seed = seed
                if seeds.count > 1 {
                    v.name = VariantName(variant: t.name, seed: seed).description
                    if let from = v.from { v.from = VariantName(variant: from, seed: seed).description }
                }
                return v
            }
        }
    }

    /// `1.25` → `1.25`, `2.0` → `2`: numbers as they read in variant names.
    static func compact(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(x)
    }
}
