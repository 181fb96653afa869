import SiraData
import Foundation

/// Walks a manifest's top-level mapping section by section. Each `read*` applies defaults
/// (`ManifestDefaults`), reports problems to the sink and returns a value even when something is
/// wrong, so one pass finds every problem; cross-section checks run at the end.
struct ManifestSections {
    let map: YAMLMap
    let sink: DiagnosticSink
    let file: String
    let sha256: String

    static let topKeys = [
        "name", "tasks", "tokenizer", "base", "adapters", "train", "evaluate", "package",
        "schedule", "executor", "retries", "jobs", "compare",
    ]

    func read() -> Manifest {
        let name = readName(map.required("name"), what: "pipeline name") ?? "unnamed"
        let tasks = readTasks()
        let base = readBase()
        let tokenizer = readTokenizer(base: base)
        let train = TrainSection.train(map.value("train"))
        let comparison = CompareSection(sink: sink).read(map.value("compare"), train: train)
        var adapters = AdapterSection(sink: sink).read(comparison == nil ? map.required("adapters") : map.value("adapters"))
        if let comparison {
            let taken = Set(adapters.map(\.name))
            for v in comparison.variants {
                if taken.contains(v.name) {
                    sink.report(map.value("compare")?.mark, "compare", "the protocol trains a variant named '\(v.name)', which adapters: already defines; rename yours")
                } else {
                    adapters.append(v)
                }
            }
        }
        let evaluate = TrainSection.evaluate(map.value("evaluate"))
        let package = TrainSection.package(map.value("package"))
        let schedule = ScheduleSection.schedule(map.value("schedule"))
        let executor = ScheduleSection.executor(map.value("executor"))
        let retries = map.value("retries")?.int(0 ... 100) ?? ManifestDefaults.retries
        let jobs = map.value("jobs")?.int(1 ... 256) ?? ManifestDefaults.jobs
        map.finish(known: Self.topKeys)

        var manifest = Manifest(
            file: file, sha256: sha256, name: name, tasks: tasks.map(\.spec), tokenizer: tokenizer, base: base,
            adapters: adapters, train: train, evaluate: evaluate, package: package, schedule: schedule,
            executor: executor, retries: retries, jobs: jobs, comparison: comparison
        )
        resolveCorpora(&manifest, tasks: tasks)
        if !manifest.adapters.isEmpty, !tasks.isEmpty, manifest.adaptedTasks.isEmpty {
            sink.report(map.value("tasks")?.mark, "tasks", "no task has adapt: true, so there is nothing to train")
        }
        return manifest
    }

    /// Names of pipelines, tasks and variants: they become folder names and stage ids.
    func readName(_ value: YAMLValue?, what: String) -> String? {
        guard let value, let text = value.string() else { return nil }
        guard Self.isValidName(text) else {
            value.fail("\(what) '\(text)' must start with a letter or digit and use only letters, digits, '-', '_' and '.'")
            return nil
        }
        return text
    }

    static func isValidName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.count <= 64 else { return false }
        let isAlnum = { (c: Unicode.Scalar) in c.isASCII && (CharacterSet.alphanumerics.contains(c)) }
        return isAlnum(first) && text.unicodeScalars.allSatisfy { isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    // MARK: tasks

    struct ReadTask {
        var spec: TaskSpec
        var value: YAMLValue
    }

    static let taskKeys = ["name", "from", "format", "columns", "eval_fraction", "adapt", "template", "system"]
    static let columnRoles = ["prompt", "completion", "text"]

    func readTasks() -> [ReadTask] {
        guard let list = map.required("tasks")?.list() else { return [] }
        if list.isEmpty { map.value("tasks")?.fail("must list at least one task") }
        var out: [ReadTask] = []
        var seen: [String: Int] = [:]
        for item in list {
            guard let t = item.map() else { continue }
            let from = t.required("from")?.string()
            let explicitName = t.value("name")
            var name: String?
            if let from, TaskFolders.isTemplate(from) {
                // One task per folder, named by it (TaskFolders); the template keeps the placeholder.
                if let problem = TaskFolders.problem(from) {
                    sink.report(t.value("from")!.mark, t.childPath("from"), problem)
                }
                if let explicitName {
                    sink.report(explicitName.mark, t.childPath("name"), "a task whose 'from' holds '\(TaskFolders.placeholder)' is named by its folders; remove 'name'")
                }
                name = TaskFolders.placeholder
            } else if let explicitName {
                name = readName(explicitName, what: "task name")
            } else if let from {
                if Glob.hasMagic(from) {
                    sink.report(t.mark, t.childPath("name"), "required when 'from' is a glob")
                } else {
                    let stem = ((from as NSString).lastPathComponent as NSString).deletingPathExtension
                    if Self.isValidName(stem) { name = stem } else {
                        sink.report(t.mark, t.childPath("name"), "the file stem '\(stem)' is not a valid task name; give 'name:'")
                    }
                }
            }
            if let n = name, n != TaskFolders.placeholder {
                if ManifestLoader.reservedTaskNames.contains(n) {
                    sink.report(explicitName?.mark ?? t.mark, t.childPath("name"), "'\(n)' is reserved (stage ids use it)")
                } else if let first = seen[n] {
                    sink.report(explicitName?.mark ?? t.mark, t.childPath("name"), "duplicate task name '\(n)' (also tasks[\(first)])")
                }
                seen[n] = seen[n] ?? out.count
            }
            var format: TaskSpec.Format?
            if let f = t.value("format") {
                format = f.oneOf(TaskSpec.Format.self)
            } else if let from {
                let ext = ((from as NSString).lastPathComponent as NSString).pathExtension.lowercased()
                format = ManifestDefaults.formatByExtension[ext]
                if format == nil {
                    sink.report(t.mark, t.childPath("format"), "cannot tell the format from '\(from)'; give format: jsonl, csv, tsv or text")
                }
            }
            var columns: [String: String] = [:]
            if let c = t.value("columns"), let cm = c.map() {
                for (role, v) in cm.allEntries() {
                    guard Self.columnRoles.contains(role) else {
                        sink.report(v.mark, v.path, "unknown column role\(Suggest.hint(role, Self.columnRoles)) (roles: \(Self.columnRoles.joined(separator: ", ")))")
                        continue
                    }
                    if let col = v.string() { columns[role] = col }
                }
                if columns["text"] != nil, columns["prompt"] != nil || columns["completion"] != nil {
                    c.fail("map either 'text' or 'prompt'/'completion', not both")
                }
                if columns["prompt"] != nil, columns["completion"] == nil {
                    c.fail("'prompt' is mapped but 'completion' is not")
                }
            }
            let evalFraction = t.value("eval_fraction")?.double(0 ... 0.9, exclusiveLower: true) ?? ManifestDefaults.evalFraction
            let adapt = t.value("adapt")?.bool() ?? ManifestDefaults.adapt
            var template: TemplateMode?
            if let v = t.value("template") {
                let word = v.string() ?? ""
                template = TemplateMode(rawValue: word)
                if template == nil { v.fail("expected 'chat' or 'plain', found '\(word)'") }
            }
            let system = t.value("system")?.string(nonEmpty: false)
            t.finish(known: Self.taskKeys)
            out.append(ReadTask(
                spec: TaskSpec(
                    name: name ?? "task\(out.count)", from: from ?? "", format: format ?? .jsonl,
                    columns: columns, evalFraction: evalFraction, adapt: adapt, template: template, system: system
                ),
                value: item
            ))
        }
        return out
    }

    // MARK: tokenizer and base

    func readTokenizer(base: BaseSpec) -> TokenizerSpec {
        guard let v = map.value("tokenizer") else {
            if case let .hf(path) = base { return .load(path: (path as NSString).appendingPathComponent("tokenizer.json")) }
            if case let .gguf(path) = base { return .gguf(path: path) }
            return .train(vocabSize: ManifestDefaults.vocabSize, corpus: [])
        }
        if case let .gguf(path) = base {
            v.fail("a GGUF base brings its own tokenizer (tokenizer.ggml.*); leave 'tokenizer' out")
            return .gguf(path: path)
        }
        guard let m = v.map() else { return .train(vocabSize: ManifestDefaults.vocabSize, corpus: []) }
        defer { m.finish(known: ["train", "path"]) }
        switch (m.has("train"), m.has("path")) {
        case (true, true):
            v.fail("give either 'train' or 'path', not both")
        case (false, false):
            v.fail("expected 'train: {vocab_size: N}' or 'path: tokenizer.json'")
        case (false, true):
            return .load(path: m.value("path")?.string() ?? "")
        case (true, false):
            if case .hf = base {
                m.value("train")?.fail("an HF base brings its own tokenizer; use 'path:' (its tokenizer.json) or leave 'tokenizer' out")
            }
            guard let t = m.value("train")?.map() else { break }
            let vocab = t.value("vocab_size")?.int(260 ... 1 << 20) ?? ManifestDefaults.vocabSize
            let corpus = t.value("corpus")?.stringList() ?? []
            t.finish(known: ["vocab_size", "corpus"])
            return .train(vocabSize: vocab, corpus: corpus)
        }
        return .train(vocabSize: ManifestDefaults.vocabSize, corpus: [])
    }

    static let builtinKeys = [
        "layers", "hidden", "heads", "kv_heads", "intermediate", "pretrain_steps", "batch", "seq_len", "lr", "seed", "corpus",
    ]

    func readBase() -> BaseSpec {
        let fallback = BaseSpec.builtin(Self.withIntermediate(ManifestDefaults.builtin))
        guard let v = map.value("base") else { return fallback }
        guard let m = v.map() else { return fallback }
        defer { m.finish(known: ["builtin", "hf", "gguf"]) }
        let given = ["builtin", "hf", "gguf"].filter { m.has($0) }
        guard given.count == 1 else {
            for key in given { _ = m.value(key) }
            v.fail(given.isEmpty ? "expected 'builtin: {...}', 'hf: MODEL_FOLDER' or 'gguf: MODEL.gguf'"
                                 : "give one of 'builtin', 'hf' or 'gguf', not \(given.joined(separator: " and "))")
            return fallback
        }
        switch given[0] {
        case "hf":
            return .hf(path: m.value("hf")?.string() ?? "")
        case "gguf":
            return .gguf(path: m.value("gguf")?.string() ?? "")
        default:
            let bv = m.value("builtin")!
            if bv.isNull { return fallback }
            guard let b = bv.map() else { return fallback }
            var s = ManifestDefaults.builtin
            s.layers = b.value("layers")?.int(1 ... 64) ?? s.layers
            s.hidden = b.value("hidden")?.int(8 ... 8192) ?? s.hidden
            s.heads = b.value("heads")?.int(1 ... 128) ?? s.heads
            s.kvHeads = b.value("kv_heads")?.int(1 ... 128) ?? s.heads
            s.intermediate = b.value("intermediate")?.int(1 ... 65536) ?? 0
            s.pretrainSteps = b.value("pretrain_steps")?.int(0 ... 10_000_000) ?? s.pretrainSteps
            s.batch = b.value("batch")?.int(1 ... 4096) ?? s.batch
            s.seqLen = b.value("seq_len")?.int(2 ... 65536) ?? s.seqLen
            s.lr = b.value("lr")?.double(0 ... 1, exclusiveLower: true) ?? s.lr
            s.seed = b.value("seed")?.int(0 ... Int(Int32.max)) ?? s.seed
            s.corpus = b.value("corpus")?.stringList() ?? []
            b.finish(known: Self.builtinKeys)
            if s.hidden % s.heads != 0 {
                sink.report(b.value("heads")?.mark ?? b.mark, b.childPath("heads"), "hidden (\(s.hidden)) must be a multiple of heads (\(s.heads))")
            } else if (s.hidden / s.heads) % 2 != 0 {
                sink.report(b.value("heads")?.mark ?? b.mark, b.childPath("heads"), "the head size hidden/heads = \(s.hidden / s.heads) must be even (rotary embeddings)")
            }
            if s.heads % s.kvHeads != 0 {
                sink.report(b.value("kv_heads")?.mark ?? b.mark, b.childPath("kv_heads"), "heads (\(s.heads)) must be a multiple of kv_heads (\(s.kvHeads))")
            }
            return .builtin(Self.withIntermediate(s))
        }
    }

    static func withIntermediate(_ b: BuiltinBase) -> BuiltinBase {
        var b = b
        if b.intermediate == 0 { b.intermediate = ManifestDefaults.intermediate(hidden: b.hidden) }
        return b
    }

    // MARK: cross-section

    /// Empty corpora mean "every task"; named corpora must name tasks.
    func resolveCorpora(_ m: inout Manifest, tasks: [ReadTask]) {
        let names = m.tasks.map(\.name)
        func check(_ corpus: [String], at value: YAMLValue?) -> [String] {
            if corpus.isEmpty { return names }
            for c in corpus where !names.contains(c) {
                value?.fail("'\(c)' is not a task of this pipeline\(Suggest.hint(c, names))")
            }
            return corpus
        }
        if case let .train(vocab, corpus) = m.tokenizer {
            let v = map.value("tokenizer")?.map()?.value("train")?.map()?.value("corpus")
            m.tokenizer = .train(vocabSize: vocab, corpus: check(corpus, at: v))
        }
        if case var .builtin(b) = m.base {
            let v = map.value("base")?.map()?.value("builtin")?.map()?.value("corpus")
            b.corpus = check(b.corpus, at: v)
            m.base = .builtin(b)
        }
    }
}
