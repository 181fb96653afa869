import ArgumentParser
import Foundation
import SiraData
import SiraModel

/// `sira-pipeline generate --model M [--adapter A] --prompt TEXT`: streams a continuation to stdout as it is
/// sampled (KV cache; adapters in evaluation mode). The prompt gets the tokenizer's BOS when it has
/// one; generation stops at the tokenizer's EOS (or the config's `eos_token_id`), after
/// `--max-tokens`, or at `max_position_embeddings`.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a continuation of a prompt, streamed token by token."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The prompt text.")
    var prompt: String

    @Option(help: "Most tokens to generate.")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(help: "Nucleus sampling: sample from the smallest set of tokens whose probability reaches this.")
    var topP: Float = 0.95

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be >= 0") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        let folder = try modelOptions.load()
        let llama = folder.model
        let tokenizer = try folder.tokenizer()
        let ids = (tokenizer.bosID >= 0 ? [tokenizer.bosID] : []) + tokenizer.encode(prompt)
        guard !ids.isEmpty else { throw CommandError("the prompt encodes to no tokens and the tokenizer has no BOS") }
        guard ids.count < llama.config.maxPositionEmbeddings else {
            throw CommandError("the prompt is \(ids.count) tokens; the model's context is \(llama.config.maxPositionEmbeddings)")
        }
        var stop = Set(llama.config.eosTokenIds)
        if tokenizer.eosID >= 0 { stop.insert(tokenizer.eosID) }
        let out = FileHandle.standardOutput
        // Bytes, not strings: a character split across tokens is completed by the next token's bytes.
        llama.generate(prompt: ids, maxTokens: maxTokens, temperature: temperature, topP: topP, seed: seed, stop: stop) { token in
            out.write(Data(tokenizer.decodeBytes([token], skipSpecialTokens: true)))
            return true
        }
        out.write(Data("\n".utf8))
    }
}
