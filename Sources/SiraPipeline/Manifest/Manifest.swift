import SiraData
/// A pipeline manifest (DESIGN.md §7): what to train on, which base and tokenizer, which adapter
/// variants with which hyper-parameters, how to evaluate and package, when to run and where.
///
/// Every value here is already validated and has its default applied (`ManifestDefaults`), so
/// stages never re-check ranges. Paths are as written in the manifest, relative to the workspace.
public struct Manifest: Sendable, Equatable {
    /// The file the manifest was read from (for messages) and the SHA-256 of its bytes.
    public var file: String
    public var sha256: String

    public var name: String
    public var tasks: [TaskSpec]
    public var tokenizer: TokenizerSpec
    public var base: BaseSpec
    /// Adapter variants in manifest order (`multitask` variants included).
    public var adapters: [AdapterVariant]
    public var train: TrainSpec
    public var evaluate: EvaluateSpec
    public var package: PackageSpec
    public var schedule: ScheduleSpec?
    public var executor: ExecutorSpec
    /// Extra attempts after a failed one (0: no retry).
    public var retries: Int
    /// Stages run at once unless `--jobs` overrides it.
    public var jobs: Int
    /// The `compare:` protocol, when the manifest has one; its variants are already in `adapters`.
    public var comparison: ComparisonSpec? = nil

    /// Tasks that get adapters (`adapt: true`), in manifest order.
    public var adaptedTasks: [TaskSpec] { tasks.filter(\.adapt) }
    /// Per-task variants (everything except `multitask`).
    public var perTaskVariants: [AdapterVariant] { adapters.filter { $0.kind != .multitask } }
    public var multitaskVariants: [AdapterVariant] { adapters.filter { $0.kind == .multitask } }

    public func task(named name: String) -> TaskSpec? { tasks.first { $0.name == name } }
    public func variant(named name: String) -> AdapterVariant? { adapters.first { $0.name == name } }
}

/// One task: a dataset (file or glob) turned into one adapter per variant.
public struct TaskSpec: Sendable, Equatable, Codable {
    public enum Format: String, Sendable, Codable, CaseIterable {
        case jsonl, csv, tsv, text
    }

    public var name: String
    /// A path or a glob (`*`, `?`, `[...]`) relative to the workspace; every match is ingested.
    public var from: String
    public var format: Format
    /// Field role → column name: roles are `prompt`, `completion`, `text`.
    public var columns: [String: String]
    /// Fraction of rows held out for evaluation (stable split by content hash).
    public var evalFraction: Double
    /// Whether adapters are trained for this task; a task with `adapt: false` only feeds the
    /// tokenizer or base corpus.
    public var adapt: Bool
    /// `template: chat | plain`: whether examples are rendered with the base's chat template;
    /// nil means chat when the base has a template, plain otherwise.
    public var template: TemplateMode? = nil
    /// `system:` a system prompt put before each prompt/completion example rendered with the
    /// chat template (chat records that bring their own system turn keep it).
    public var system: String? = nil
}

public enum TokenizerSpec: Sendable, Equatable {
    /// Train a byte-level BPE on the train splits of `corpus` (task names).
    case train(vocabSize: Int, corpus: [String])
    /// Load an HF `tokenizer.json` (path relative to the workspace).
    case load(path: String)
    /// The vocabulary, special tokens and chat template inside a GGUF base (`tokenizer.ggml.*`).
    case gguf(path: String)
}

public enum BaseSpec: Sendable, Equatable {
    case builtin(BuiltinBase)
    /// An HF model folder (config.json, model.safetensors, tokenizer.json).
    case hf(path: String)
    /// A GGUF file (llama.cpp, Ollama): weights, tokenizer and chat template in one file.
    case gguf(path: String)

    /// The model file or folder a manifest names, nil for the built-in base.
    public var importedPath: String? {
        switch self {
        case .builtin: return nil
        case let .hf(path), let .gguf(path): return path
        }
    }
}

/// The built-in small Llama-shaped base, pretrained by the pipeline on `corpus`.
public struct BuiltinBase: Sendable, Equatable, Codable {
    public var layers: Int
    public var hidden: Int
    public var heads: Int
    public var kvHeads: Int
    public var intermediate: Int
    public var pretrainSteps: Int
    public var batch: Int
    public var seqLen: Int
    public var lr: Double
    public var seed: Int
    public var corpus: [String]
}

public enum AdapterKind: String, Sendable, Codable, CaseIterable {
    case lora, molora, sira, multitask
}

/// One adapter variant: a named set of hyper-parameters. The name is the key in `adapters:`; it is
/// the kind itself unless `kind:` says otherwise (`sira-e16: {kind: sira, num_experts: 16}`).
public struct AdapterVariant: Sendable, Equatable, Codable {
    public var name: String
    public var kind: AdapterKind
    /// The adapter architecture actually trained (for `multitask`, the one it copies `from`).
    public var architecture: AdapterKind
    /// For `multitask`: the variant whose settings it trains on the task mixture.
    public var from: String?
    public var r: Int
    public var loraAlpha: Double
    public var targetModules: [String]
    /// PEFT's `layers_to_transform`: the adapted layers (nil: all).
    public var layersToTransform: [Int]? = nil
    public var numExperts: Int
    public var topK: Int
    public var capacityFactor: Double
    public var evalCapacityFactor: Double?
    public var expertDropout: Double
    public var auxLossWeight: Double
    public var zLossWeight: Double
    public var normalizeGates: Bool
    /// Training seed of this variant (a seed replica of the `compare:` protocol); nil: `train.seed`.
    public var seed: Int? = nil
    /// `multitask` only: tasks are sampled with probability ∝ tokens^(1/temperature) (1: in
    /// proportion to their size; larger values flatten towards uniform). nil: 1.
    public var mixingTemperature: Double? = nil
    /// A LoRA whose rank is raised at planning time until its parameter count is nearest that of
    /// the named variant on the same base (`lora-wide` of the `compare:` protocol).
    public var matchParametersOf: String? = nil
}

public struct TrainSpec: Sendable, Equatable, Codable {
    /// Learning rate after warmup: cosine decay to a tenth, or constant.
    public enum Schedule: String, Sendable, Codable, CaseIterable {
        case cosine, constant
    }

    public var steps: Int
    public var batch: Int
    public var seqLen: Int
    public var lr: Double
    public var warmup: Int
    public var schedule: Schedule
    public var weightDecay: Double
    public var gradClip: Double
    public var seed: Int
    /// Resumable training state is saved every this many steps.
    public var saveEvery: Int
    /// The eval-split loss is measured every this many steps during training (the report's eval
    /// curves); nil: never.
    public var evalEvery: Int? = nil
    /// Micro-batches of `batch` sequences accumulated per optimizer step (`grad_accum`): the
    /// effective batch is `batch × gradAccum` at the memory of `batch`. nil: 1 (so the cache keys
    /// of manifests without it do not change).
    public var gradAccum: Int? = nil

    /// Sequences per optimizer step.
    public var effectiveBatch: Int { batch * (gradAccum ?? 1) }
}

public struct EvaluateSpec: Sendable, Equatable, Codable {
    public var exactMatch: Bool
    public var maxNewTokens: Int
    /// At most this many eval examples per task (0: all).
    public var maxExamples: Int
}

public struct PackageSpec: Sendable, Equatable, Codable {
    public var zstdLevel: Int
}

public struct ScheduleSpec: Sendable, Equatable, Codable {
    public enum Catchup: String, Sendable, Codable, CaseIterable {
        case skip, once, all
    }

    /// A 5-field cron expression or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
    public var cron: String
    public var timezone: String
    public var catchup: Catchup
    /// With `catchup: all`, at most this many missed ticks are run (`max_catchup`).
    public var maxCatchup: Int

    /// The policy the schedule module applies.
    public var catchUpPolicy: CatchUpPolicy {
        switch catchup {
        case .skip: return .skip
        case .once: return .once
        case .all: return .all(max: maxCatchup)
        }
    }
}

public enum ExecutorSpec: Sendable, Equatable {
    case local
    case slurm(SlurmSpec)

    public var name: String {
        switch self {
        case .local: return "local"
        case .slurm: return "slurm"
        }
    }
}

public struct SlurmSpec: Sendable, Equatable, Codable {
    public var partition: String?
    public var account: String?
    /// Slurm time limit per stage job (`HH:MM:SS` or minutes).
    public var time: String?
    /// Memory per job (`4G`).
    public var memory: String?
    public var cpus: Int
    /// Concurrency limit of per-task job arrays (`%K`).
    public var arrayLimit: Int?

    public init(partition: String?, account: String?, time: String?, memory: String?, cpus: Int, arrayLimit: Int?) {
        self.partition = partition
        self.account = account
        self.time = time
        self.memory = memory
        self.cpus = cpus
        self.arrayLimit = arrayLimit
    }

    /// `executor: slurm` without settings: the cluster's default partition and account.
    public static let defaults = SlurmSpec(partition: nil, account: nil, time: nil, memory: nil, cpus: ManifestDefaults.slurmCPUs, arrayLimit: nil)
}
