/// Every default a manifest can leave out, in one place (the README's manifest reference lists
/// the same values). Parsers read defaults only from here.
public enum ManifestDefaults {
    // tasks[]
    public static let evalFraction = 0.1
    public static let adapt = true
    /// `format` defaults from the extension of `from`.
    public static let formatByExtension: [String: TaskSpec.Format] = [
        "jsonl": .jsonl, "json": .jsonl, "csv": .csv, "tsv": .tsv, "txt": .text,
    ]

    // tokenizer
    public static let vocabSize = 4096

    // base.builtin
    public static let builtin = BuiltinBase(
        layers: 4, hidden: 256, heads: 4, kvHeads: 2, intermediate: 0,
        pretrainSteps: 2000, batch: 16, seqLen: 128, lr: 1e-3, seed: 0, corpus: []
    )
    /// SwiGLU width when `intermediate` is left out: 8/3 of `hidden`, rounded up to a multiple of 32.
    public static func intermediate(hidden: Int) -> Int { (hidden * 8 / 3 + 31) / 32 * 32 }

    // adapters
    public static let targetModules = ["q_proj", "v_proj", "up_proj", "down_proj"]
    public static func variant(_ kind: AdapterKind, name: String) -> AdapterVariant {
        var v = AdapterVariant(
            name: name, kind: kind, architecture: kind, from: nil,
            r: 8, loraAlpha: 16, targetModules: targetModules,
            numExperts: 1, topK: 1, capacityFactor: 1.25, evalCapacityFactor: nil,
            expertDropout: 0, auxLossWeight: 0, zLossWeight: 0, normalizeGates: true
        )
        switch kind {
        case .lora:
            break
        case .molora:
            v.r = 4
            v.numExperts = 4
            v.topK = 4
        case .sira, .multitask:
            v.r = 4
            v.numExperts = 8
            v.topK = 2
            v.expertDropout = 0.1
            v.auxLossWeight = 0.01
        }
        return v
    }
    /// `multitask` trains a copy of this variant on the mixture of tasks unless `from:` says otherwise.
    public static let multitaskFrom = "sira"
    /// Multitask mixing temperature of the `compare:` protocol (tasks ∝ tokens^(1/T)).
    public static let mixingTemperature = 2.0

    // train
    public static let train = TrainSpec(
        steps: 400, batch: 16, seqLen: 128, lr: 3e-4, warmup: 20, schedule: .cosine,
        weightDecay: 0, gradClip: 1.0, seed: 0, saveEvery: 50
    )

    // evaluate
    public static let evaluate = EvaluateSpec(exactMatch: true, maxNewTokens: 16, maxExamples: 0)

    // package
    public static let package = PackageSpec(zstdLevel: 3)

    // schedule
    public static let timezone = "UTC"
    public static let catchup = ScheduleSpec.Catchup.once
    public static let maxCatchup = 24

    // top level
    public static let retries = 1
    public static let jobs = 1
    public static let slurmCPUs = 2
}
