import ArgumentParser
import Foundation
import SiraKernels
import SiraModel

/// The options of the commands that run a model (`score`, `generate`): the base folder, an
/// optional adapter (for a bundle, the task whose adapter to use), and the thread count.
struct ModelOptions: ParsableArguments {
    @Option(help: "An HF model folder (config.json, model.safetensors or shards, tokenizer.json) or a GGUF file (FILE.gguf).")
    var model: String

    @Option(help: "An adapter: a file written by training (config in its metadata), a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors), or a .sira package.")
    var adapter: String?

    @Option(help: "With a .sira bundle as --adapter: the task whose chosen adapter to use.")
    var task: String?

    @Flag(help: "Use a .sira package even when --model is not the base it names.")
    var allowOtherBase = false

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    /// Thread counts beyond this are refused: the kernels split rows by `threads`, and a huge value
    /// only feeds overflow into that arithmetic.
    static let maxThreads = 1024

    func validate() throws {
        if let threads, !(1...Self.maxThreads).contains(threads) {
            throw ValidationError("--threads must be in 1...\(Self.maxThreads), got \(threads)")
        }
    }

    /// The model folder with the threads set and the adapter attached (announced on stderr).
    func load() throws -> ModelFolder {
        if let threads { KernelThreads.count = threads }
        let started = Date()
        var folder = try ModelFolder(path: model)
        folder.model.threads = KernelThreads.count
        if let adapter {
            let attached = try AdapterSource.attach(adapter, task: task, to: folder.model, modelFolder: folder.url, allowOtherBase: allowOtherBase)
            FileHandle.standardError.write(Data("adapter: \(attached)\n".utf8))
        } else if task != nil {
            throw CommandError("--task selects an adapter in a .sira bundle given as --adapter")
        }
        folder.loadSeconds = Date().timeIntervalSince(started)
        return folder
    }
}
