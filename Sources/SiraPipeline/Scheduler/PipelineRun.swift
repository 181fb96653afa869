import Foundation

extension WorkspaceSession {
    /// Runs a manifest: plans its stages (`planner`), runs them as one recorded run, and
    /// publishes the packages of the run into `checkpoints/<pipeline>/<run>/` with an index.
    public func run(manifest: Manifest, planner: StagePlanner, options: RunOptions, observer: PipelineObserver?) throws -> RunSummary {
        let stages = try planner(manifest, workspace)
        var options = options
        options.source = options.source ?? .manifest(manifest)
        if options.executor == nil, case let .slurm(spec) = manifest.executor {
            options.executor = SlurmExecutor(options: SlurmExecutorOptions(spec: spec))
        }
        let params = ManifestParameters.forRun(manifest, executor: (options.executor ?? executor).name)
        return try run(stages: stages, pipeline: manifest.name, manifestHash: manifest.sha256, params: params,
                       jobs: manifest.jobs, retries: manifest.retries, options: options, observer: observer)
    }
}

/// The manifest as flat `key = value` run parameters (`train.steps = 400`,
/// `adapters.sira.num_experts = 8`), so `compare` can diff two runs' settings.
enum ManifestParameters {
    /// What every run of a manifest records, however it was triggered (`run`, `watch`, a
    /// schedule): the flattened manifest, its file and hash, the tool version and the executor.
    static func forRun(_ m: Manifest, executor: String) -> [String: String] {
        var params = flatten(m)
        params["manifest.file"] = m.file
        params["manifest.sha256"] = m.sha256
        params["tool.version"] = ToolVersion.string
        params["executor"] = executor
        return params
    }

    static func flatten(_ m: Manifest) -> [String: String] {
        var out: [String: String] = ["name": m.name, "executor": m.executor.name, "retries": String(m.retries), "jobs": String(m.jobs)]
        func add(_ prefix: String, _ value: some Encodable) {
            guard let data = try? JSONEncoder.canonical.encode(value),
                  let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            else { return }
            walk(prefix, object)
        }
        func walk(_ prefix: String, _ object: Any) {
            if let dict = object as? [String: Any] {
                for (k, v) in dict { walk("\(prefix).\(snake(k))", v) }
            } else if let list = object as? [Any] {
                out[prefix] = list.map { "\($0)" }.joined(separator: ",")
            } else if !(object is NSNull) {
                out[prefix] = "\(object)"
            }
        }
        for t in m.tasks { add("tasks.\(t.name)", t) }
        for v in m.adapters { add("adapters.\(v.name)", v) }
        add("train", m.train)
        add("evaluate", m.evaluate)
        add("package", m.package)
        switch m.tokenizer {
        case let .train(vocab, corpus):
            out["tokenizer.vocab_size"] = String(vocab)
            out["tokenizer.corpus"] = corpus.joined(separator: ",")
        case let .load(path): out["tokenizer.path"] = path
        case let .gguf(path): out["tokenizer.gguf"] = path
        }
        switch m.base {
        case let .builtin(b): add("base.builtin", b)
        case let .hf(path): out["base.hf"] = path
        case let .gguf(path): out["base.gguf"] = path
        }
        if let s = m.schedule { add("schedule", s) }
        return out
    }

    /// `evalFraction` → `eval_fraction`, as manifests spell keys.
    static func snake(_ key: String) -> String {
        var out = ""
        for c in key {
            if c.isUppercase {
                out += "_" + c.lowercased()
            } else {
                out.append(c)
            }
        }
        return out
    }
}
