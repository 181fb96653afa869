/// `train:`, `evaluate:` and `package:`: plain mappings of numbers with ranges.
enum TrainSection {
    static let trainKeys = [
        "steps", "batch", "seq_len", "lr", "warmup", "schedule", "weight_decay", "grad_clip", "seed", "save_every", "eval_every",
        "grad_accum",
    ]

    static func train(_ value: YAMLValue?) -> TrainSpec {
        var t = ManifestDefaults.train
        guard let value, let m = value.map() else { return t }
        t.steps = m.value("steps")?.int(1 ... 100_000_000) ?? t.steps
        t.batch = m.value("batch")?.int(1 ... 4096) ?? t.batch
        t.seqLen = m.value("seq_len")?.int(2 ... 65536) ?? t.seqLen
        t.lr = m.value("lr")?.double(0 ... 1, exclusiveLower: true) ?? t.lr
        let warmupValue = m.value("warmup")
        t.warmup = warmupValue?.int(0 ... 100_000_000) ?? t.warmup
        t.schedule = m.value("schedule")?.oneOf(TrainSpec.Schedule.self) ?? t.schedule
        t.weightDecay = m.value("weight_decay")?.double(0 ... 10) ?? t.weightDecay
        t.gradClip = m.value("grad_clip")?.double(0 ... 1e6) ?? t.gradClip
        t.seed = m.value("seed")?.int(0 ... Int(Int32.max)) ?? t.seed
        t.saveEvery = m.value("save_every")?.int(1 ... 100_000_000) ?? t.saveEvery
        t.evalEvery = m.value("eval_every")?.int(1 ... 100_000_000) ?? t.evalEvery
        if let accum = m.value("grad_accum")?.int(1 ... 4096) { t.gradAccum = accum == 1 ? nil : accum }
        if t.warmup > t.steps {
            value.sink.report(warmupValue?.mark ?? m.mark, m.childPath("warmup"), "warmup (\(t.warmup)) must be ≤ steps (\(t.steps))")
        }
        m.finish(known: trainKeys)
        return t
    }

    static func evaluate(_ value: YAMLValue?) -> EvaluateSpec {
        var e = ManifestDefaults.evaluate
        guard let value, let m = value.map() else { return e }
        e.exactMatch = m.value("exact_match")?.bool() ?? e.exactMatch
        e.maxNewTokens = m.value("max_new_tokens")?.int(1 ... 4096) ?? e.maxNewTokens
        // Evaluation is deterministic (greedy decoding); repeated runs belong to the comparison.
        m.value("seeds")?.fail("evaluation is deterministic; to repeat training over seeds, list them in `compare.seeds`")
        e.maxExamples = m.value("max_examples")?.int(0 ... 100_000_000) ?? e.maxExamples
        m.finish(known: ["exact_match", "max_new_tokens", "seeds", "max_examples"])
        return e
    }

    static func package(_ value: YAMLValue?) -> PackageSpec {
        var p = ManifestDefaults.package
        guard let value, let m = value.map() else { return p }
        p.zstdLevel = m.value("zstd_level")?.int(1 ... 19) ?? p.zstdLevel
        m.finish(known: ["zstd_level"])
        return p
    }
}
