import Foundation
import SiraPipeline
import SiraIO
import SiraModel

/// What `export` writes: a LoRA folded into its base as a plain HF model folder, or a LoRA as a
/// PEFT adapter folder. Both are built in a temporary folder next to the destination and renamed
/// into place, so a crash leaves the old folder or none.
public enum AdapterExport {
    /// `config.json` + `model.safetensors` (fp32) of `model` with its LoRA adapters folded in,
    /// and `tokenizer.json`, into `folder`. The model is changed (merged, adapters detached).
    public static func writeMerged(_ model: LlamaModel, tokenizer: URL, to folder: URL, metadata: [String: String] = [:]) throws {
        try LoRAMerge.fold(model)
        try buildFolder(folder) { tmp in
            try model.saveHuggingFace(to: tmp, metadata: metadata)
            try FileManager.default.copyItem(at: tokenizer, to: tmp.appendingPathComponent("tokenizer.json"))
        }
    }

    /// PEFT's `adapter_config.json` and `adapter_model.safetensors` for a plain LoRA whose weights
    /// are in `weights` (PEFT tensor names already, `AdapterNaming`). No base model is needed.
    public static func writePEFT(config: AdapterConfig, weights: URL, baseModel: String?, to folder: URL) throws {
        guard config.type == .lora else {
            throw PackageUseError("only a plain LoRA exports to PEFT; this adapter is \(config.type.rawValue) (PEFT has no sparse mixture of LoRA experts)")
        }
        let file = try SafetensorsFile(weights)
        let tensors = try file.names.sorted().map { ($0, try file.tensor($0)) }
        for (name, _) in tensors where !(name.hasSuffix(".lora_A.weight") || name.hasSuffix(".lora_B.weight")) {
            throw PackageUseError("\(weights.path): tensor \(name) is not a LoRA weight")
        }
        try buildFolder(folder) { tmp in
            let json = try JSONSerialization.data(withJSONObject: SiraModel.AdapterFiles.peftConfig(config, baseModel: baseModel),
                                                  options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(Array(json), to: tmp.appendingPathComponent("adapter_config.json"))
            try SafetensorsWriter.write(tensors.map { (name: $0.0, tensor: $0.1) }, to: tmp.appendingPathComponent("adapter_model.safetensors"),
                                        metadata: ["format": "pt"])
        }
    }

    static func buildFolder(_ folder: URL, _ fill: (URL) throws -> Void) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = AtomicFile.temporaryURL(for: folder)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
        do {
            try fill(tmp)
            try AtomicFile.syncTree(tmp)
            try AtomicFile.publish(tmp, to: folder)
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }
}
