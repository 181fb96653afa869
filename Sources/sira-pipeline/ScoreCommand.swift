import ArgumentParser
import Foundation
import SiraIO
import SiraData
import SiraModel

/// `sira-pipeline score --model M [--adapter A] --input FILE.jsonl [--json]`: the negative log-likelihood of
/// each line's scored tokens under the model (adapters in evaluation mode).
///
/// Input lines: `{"ids": [...]}` (every id after the first is scored), `{"text": "..."}` (the text
/// with the special tokens the model's tokenizer adds, as transformers' `tokenizer(text)`: a start
/// token only when its files say so; every token after the first scored), or
/// `{"prompt": "...", "completion": "..."}` (start token if any, prompt, completion; the
/// completion tokens are scored). Which start token was added is said on stderr and in `--json`. Output: one `{"nll": Σ −log p, "tokens": n}` per line, then the summary (mean NLL per
/// token and perplexity); with `--json` the summary is a JSON object too, so stdout is JSONL.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score token sequences or texts under a model: per-line NLL, mean NLL per token, perplexity."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A JSONL file: {\"ids\": [...]}, {\"text\": ...} or {\"prompt\": ..., \"completion\": ...} per line.")
    var input: String

    @Flag(help: "Print the summary as a JSON object (stdout is then pure JSONL).")
    var json = false

    func run() throws {
        let folder = try modelOptions.load()
        let llama = folder.model
        var tokenizer: BPETokenizer?
        let inputURL = URL(fileURLWithPath: input)
        let data: Data
        do {
            try RegularFile.require(input)
            data = try Data(contentsOf: inputURL)
        } catch let error as NotARegularFile {
            throw CommandError("\(error)")
        } catch {
            throw CommandError("\(input): cannot read: \(error.localizedDescription)")
        }
        // Every line is read and checked before the first is scored, so a bad line stops the
        // command before it prints anything.
        var work: [(sequence: [Int], scoredFrom: Int)] = []
        for (index, rawLine) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            func fail(_ why: String) -> CommandError { CommandError("\(input):\(lineNumber): \(why)") }
            let example = try ScoreExample(line: Data(line), fail: fail)
            let sequence: [Int], scoredFrom: Int
            switch example {
            case let .ids(ids):
                sequence = ids
                scoredFrom = 1
            case let .text(text):
                if tokenizer == nil { tokenizer = try folder.tokenizer() }
                let rules = tokenizer!.rules
                sequence = rules.prefix.map(Int.init) + tokenizer!.encode(text) + rules.suffix.map(Int.init)
                scoredFrom = 1
            case let .pair(prompt, completion):
                if tokenizer == nil { tokenizer = try folder.tokenizer() }
                let head = tokenizer!.rules.prefix.map(Int.init) + tokenizer!.encode(prompt)
                sequence = head + tokenizer!.encode(completion)
                scoredFrom = max(1, head.count)
            }
            if sequence.count < 2 || scoredFrom >= sequence.count {
                throw fail("nothing to score (\(sequence.count) tokens; at least one token after the first is needed)")
            }
            if sequence.count - 1 > llama.config.contextLength {
                throw fail("\(sequence.count) tokens exceed the model's context length \(llama.config.contextLength) + 1 (max_position_embeddings, or the sliding window when smaller: longer sequences would not be computed exactly)")
            }
            if let bad = sequence.first(where: { $0 < 0 || $0 >= llama.config.vocabSize }) {
                throw fail("token id \(bad) outside the model's vocabulary (0..<\(llama.config.vocabSize))")
            }
            work.append((sequence, scoredFrom))
        }
        let tokens = tokenizer.map { folder.tokenReport($0) }
        if let tokens { FileHandle.standardError.write(Data("\(tokens.line)\n".utf8)) }
        var totalNLL = 0.0, totalTokens = 0
        let started = Date()
        for (sequence, scoredFrom) in work {
            let result = llama.loss(TokenBatch(sequence: sequence, scoredFrom: scoredFrom), mode: .evaluation)
            print("{\"nll\": \(Self.number(result.nllSum)), \"tokens\": \(result.tokens)}")
            totalNLL += result.nllSum
            totalTokens += result.tokens
        }
        let lines = work.count
        guard totalTokens > 0 else { throw CommandError("\(input): no scorable lines") }
        let mean = totalNLL / Double(totalTokens)
        let seconds = Date().timeIntervalSince(started)
        let processed = work.reduce(0) { $0 + $1.sequence.count }
        let speed = seconds > 0 ? Double(processed) / seconds : 0
        FileHandle.standardError.write(Data(String(format: "load %.2f s; scored %d tokens (%d processed) in %.2f s, %.0f tokens/s\n",
                                                   folder.loadSeconds, totalTokens, processed, seconds, speed).utf8))
        if json {
            print("{\"summary\": true, \"lines\": \(lines), \"tokens\": \(totalTokens), \"mean_nll\": \(Self.number(mean)), \"perplexity\": \(Self.number(exp(mean)))"
                + ", \"load_seconds\": \(Self.number(folder.loadSeconds)), \"score_seconds\": \(Self.number(seconds)), \"tokens_per_second\": \(Self.number(speed))"
                + (tokens.map { ", " + $0.json } ?? ", \"start_token\": null") + "}")
        } else {
            let counted = "\(lines) line\(lines == 1 ? "" : "s"), \(totalTokens) tokens"
            print(counted + String(format: ": mean NLL %.6f per token, perplexity %.4f", mean, exp(mean)))
        }
    }

    /// Shortest round-tripping decimal; JSON has no infinities, so they become null.
    static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
}

/// One input line of `score`.
enum ScoreExample {
    case ids([Int])
    case text(String)
    case pair(prompt: String, completion: String)

    init(line: Data, fail: (String) -> CommandError) throws {
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: line) as? [String: Any] else { throw fail("not a JSON object") }
            object = o
        } catch let error as CommandError { throw error } catch {
            throw fail("invalid JSON")
        }
        if let ids = object["ids"] {
            guard let list = ids as? [Any] else { throw fail("\"ids\" must be a list of integers") }
            var out: [Int] = []
            for v in list {
                // JSON true/false also arrive as NSNumber (objCType "c"): refused, not read as 1/0.
                guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue == n.doubleValue.rounded(),
                      abs(n.doubleValue) < 1e15 else { throw fail("\"ids\" must be a list of integers") }
                out.append(Int(n.doubleValue))
            }
            self = .ids(out)
        } else if let prompt = object["prompt"] {
            guard let p = prompt as? String, let c = object["completion"] as? String else {
                throw fail("\"prompt\" and \"completion\" must both be strings")
            }
            self = .pair(prompt: p, completion: c)
        } else if let text = object["text"] {
            guard let t = text as? String else { throw fail("\"text\" must be a string") }
            self = .text(t)
        } else {
            throw fail("expected \"ids\", \"text\" or \"prompt\"/\"completion\"")
        }
    }
}
