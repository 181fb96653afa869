import ArgumentParser
import Foundation
import SiraData
import SiraModel

/// `sira-pipeline generate --model M [--adapter A] --prompt TEXT`: streams a continuation to stdout as it is
/// sampled (KV cache; adapters in evaluation mode). The prompt gets a start token only when the
/// model's tokenizer files say so (`ModelTokenizerFiles`); generation stops at any id of
/// generation_config.json's `eos_token_id` (a list is allowed), config.json's, or the end token,
/// after `--max-tokens`, or at `max_position_embeddings`. Stderr says which start token was added,
/// which ids stop, the load time and tokens/s; `--json` prints them with the text as one object
/// instead of streaming. When the model has a chat template (and `--template` is not `plain`), the
/// prompt is a user turn (after `--system`, if given) rendered as the template renders it up to the
/// assistant's header, exactly as the pipeline renders a task's prompts for training.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a continuation of a prompt, streamed token by token."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The prompt text.")
    var prompt: String

    @Option(help: "How the prompt reaches the model: 'chat' through its chat template as a user turn, 'plain' as it is; default: chat when the model has a template.")
    var template: TemplateMode?

    @Option(help: "A system message before the prompt (chat template only).")
    var system: String?

    @Option(help: "Most tokens to generate.")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(help: "Nucleus sampling: sample from the smallest set of tokens whose probability reaches this.")
    var topP: Float = 0.95

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object (text, token ids, why it stopped, start token, stop tokens, timings) instead of streaming.")
    var json = false

    /// No model here has a context near this; larger values only invite overflow in index sums.
    static let maxTokensLimit = 1 << 24

    func validate() throws {
        guard maxTokens >= 0, maxTokens <= Self.maxTokensLimit else {
            throw ValidationError("--max-tokens must be in 0...\(Self.maxTokensLimit), got \(maxTokens)")
        }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    }

    /// The prompt as the model gets it: rendered through its chat template unless `plain`.
    func promptText(_ folder: ModelFolder, _ tokenizer: BPETokenizer) throws -> (text: String, chat: Bool) {
        if template == .plain {
            if system != nil { throw CommandError("--system needs the chat template (it is a system turn); drop --template plain") }
            return (prompt, false)
        }
        guard let chat = try folder.chatTemplate(tokenizer) else {
            if template == .chat { throw CommandError("\(folder.url.path): --template chat, but the model has no chat template") }
            if system != nil { throw CommandError("\(folder.url.path): --system needs a chat template, and the model has none") }
            return (prompt, false)
        }
        FileHandle.standardError.write(Data("chat template: \(chat.template.name)\n".utf8))
        let rendered = try chat.apply(to: Example(prompt: prompt, completion: ""), system: system, bosText: tokenizer.startTokenText)
        return (rendered.prompt, true)
    }

    func run() throws {
        let folder = try modelOptions.load()
        let llama = folder.model
        let tokenizer = try folder.tokenizer()
        let (text, chat) = try promptText(folder, tokenizer)
        let ids = tokenizer.rules.prefix.map(Int.init) + tokenizer.encode(text)
        guard !ids.isEmpty else { throw CommandError("the prompt encodes to no tokens and the tokenizer adds no start token") }
        guard ids.count < llama.config.contextLength else {
            throw CommandError("the prompt is \(ids.count) tokens; the model's context is \(llama.config.contextLength)")
        }
        var report = folder.tokenReport(tokenizer)
        report.json += ", \"template\": \(chat ? "\"chat\"" : "\"plain\"")"
        FileHandle.standardError.write(Data("\(report.line)\n".utf8))
        let stop = Set(folder.stopIDs(tokenizer))
        let out = FileHandle.standardOutput
        let started = Date()
        var stoppedBy: Int?
        // Bytes, not strings: a character split across tokens is completed by the next token's bytes.
        let produced = llama.generate(prompt: ids, maxTokens: maxTokens, temperature: temperature, topP: topP, seed: seed,
                                      stop: stop, onToken: { token in
            if !json { out.write(Data(tokenizer.decodeBytes([token], skipSpecialTokens: true))) }
            return true
        }, onStop: { stoppedBy = $0 })
        let seconds = Date().timeIntervalSince(started)
        // The streamed text's line ends before the summary goes to stderr (they share a terminal).
        if !json { out.write(Data("\n".utf8)) }
        let speed = seconds > 0 ? Double(produced.count) / seconds : 0
        let reason = stoppedBy.map { "stop token \(tokenizer.tokenName($0)) (\($0))" }
            ?? (produced.count >= maxTokens ? "--max-tokens" : "the model's context")
        FileHandle.standardError.write(Data(String(format: "load %.2f s; %d tokens in %.2f s, %.1f tokens/s; stopped by %@\n",
                                                   folder.loadSeconds, produced.count, seconds, speed, reason).utf8))
        if json {
            func n(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
            let text = tokenizer.decode(produced, skipSpecialTokens: true)
            let line = "{\"text\": \(JSONWriter.serialize(.string(text))), \"prompt_ids\": \(ids), \"ids\": \(produced), "
                + "\"stop_id\": \(stoppedBy.map(String.init) ?? "null"), \(report.json), "
                + "\"load_seconds\": \(n(folder.loadSeconds)), \"generate_seconds\": \(n(seconds)), \"tokens_per_second\": \(n(speed))}\n"
            out.write(Data(line.utf8))
        }
    }
}

extension TemplateMode: ExpressibleByArgument {}
