import ArgumentParser
import Foundation
import SiraModel
import SiraPipeline
import SiraStages

/// `sira-pipeline export PKG --merged DIR | --peft DIR | --gguf-lora FILE [--task T] [--base DIR]`: a LoRA adapter
/// from a `.sira` package as something other tools load.
///
/// - `--merged DIR`: the LoRA folded into its base (`W + (alpha/r) B A`), written as a plain HF
///   model folder (config.json, model.safetensors, tokenizer.json) that runs with no adapter code.
///   The base is the one the package names by hash: found in the workspace's stage cache, or given
///   with `--base` (checked against the hash).
/// - `--peft DIR`: PEFT's adapter_config.json + adapter_model.safetensors.
/// - `--gguf-lora FILE`: llama.cpp's GGUF LoRA adapter (`GGUFLoRAExport`), for `llama-cli --lora`
///   on the base converted to GGUF. The base's shape comes from the package (or `--base`).
///
/// Only plain LoRA adapters export: MoLoRA and SiRA route each token to different experts, which
/// neither a single merged matrix nor PEFT's LoRA can express.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a LoRA from a .sira package: merged into its base as an HF model folder, as a PEFT adapter, or as a llama.cpp GGUF LoRA adapter.")

    @Argument(help: "A .sira package (adapter or bundle).") var package: String
    @Option(help: "Write the base with the LoRA folded in, as an HF model folder.") var merged: String?
    @Option(help: "Write the LoRA as a PEFT adapter folder.") var peft: String?
    @Option(name: .customLong("gguf-lora"), help: "Write the LoRA as a llama.cpp GGUF LoRA adapter file.") var ggufLora: String?
    @Option(help: "With a bundle: the task whose chosen adapter to export.") var task: String?
    @Option(help: "With a bundle: the adapter to export by name (see `verify`).") var adapterName: String?
    @Option(help: "The base model folder (default: found by hash in the workspace's data/cache/base).") var base: String?
    @Option(help: "The workspace (default: the current folder).") var workspace: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?

    func validate() throws {
        if let threads, !(1...ModelOptions.maxThreads).contains(threads) {
            throw ValidationError("--threads must be in 1...\(ModelOptions.maxThreads), got \(threads)")
        }
        if merged == nil, peft == nil, ggufLora == nil { throw ValidationError("give --merged DIR, --peft DIR and/or --gguf-lora FILE") }
    }

    func run() throws {
        try reportingFailures {
            let opened = try OpenedPackage(URL(fileURLWithPath: package))
            defer { opened.close() }
            let name = try opened.adapterName(task: task, name: adapterName)
            let entry = opened.manifest.adapters[name]!
            let config = try opened.config(name)
            guard config.type == .lora else {
                throw CLIFailure("\(package): adapter \(name) is \(config.type.rawValue); only a plain LoRA exports (a mixture's experts are chosen per token, so no single matrix or PEFT LoRA reproduces it)")
            }
            let baseInfo = opened.manifest.base
            if let peft {
                try AdapterExport.writePEFT(config: config, weights: opened.folder.appendingPathComponent(entry.file),
                                            baseModel: baseInfo.name, to: URL(fileURLWithPath: peft))
                print("wrote PEFT adapter \(name) to \(peft)")
            }
            if let ggufLora {
                let baseConfig: LlamaConfig
                if let base {
                    baseConfig = try LlamaConfig.load(model: URL(fileURLWithPath: base))
                } else if let recorded = baseInfo.config {
                    do { baseConfig = try JSONDecoder().decode(LlamaConfig.self, from: JSONEncoder().encode(recorded)) } catch {
                        throw CLIFailure("\(package): the base configuration recorded in the package cannot be read (\(error)); give the base with --base")
                    }
                } else {
                    throw CLIFailure("\(package): the package records no base configuration; give the base with --base")
                }
                try GGUFLoRAExport.write(config: config, weights: opened.folder.appendingPathComponent(entry.file), base: baseConfig,
                                         baseName: baseInfo.name, to: URL(fileURLWithPath: ggufLora))
                print("wrote llama.cpp GGUF LoRA adapter \(name) to \(ggufLora)")
            }
            if let merged {
                let ws = Workspace(root: URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath))
                let model: LlamaModel
                if let base {
                    let baseFolder = URL(fileURLWithPath: base)
                    model = try LlamaModel.load(huggingFaceFolder: baseFolder)
                    try BaseIdentity.check(model: model, source: baseFolder, expected: baseInfo.sha256, baseName: baseInfo.name)
                } else if let found = BaseIdentity.locate(baseInfo.sha256, workspace: ws) {
                    model = try LlamaModel.load(huggingFaceFolder: found)
                } else {
                    throw CLIFailure("the base \(baseInfo.name) (\(baseInfo.sha256.prefix(16))…) is not in \(ws.relative(ws.stageCacheFolder(.base))); give its folder with --base")
                }
                if let threads { model.threads = threads }
                try opened.attach(name, to: model)
                try AdapterExport.writeMerged(model, tokenizer: opened.tokenizerURL, to: URL(fileURLWithPath: merged),
                                              metadata: ["sira.merged_adapter": name, "sira.base_sha256": baseInfo.sha256])
                print("wrote \(baseInfo.name) with \(name) merged to \(merged)")
            }
        }
    }
}
