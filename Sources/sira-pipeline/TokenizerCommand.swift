import ArgumentParser
import Foundation
import SiraData

/// `sira-pipeline tokenizer train|encode|decode`: the tokenize stage's tokenizer, by hand.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train a byte-level BPE tokenizer, or encode and decode with one (tokenizer.json, Hugging Face format).",
        subcommands: [TokenizerTrainCommand.self, TokenizerEncodeCommand.self, TokenizerDecodeCommand.self]
    )
}

struct TokenizerTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Learn BPE merges from dataset files or snapshot folders and write tokenizer.json."
    )

    @Argument(help: "Dataset files (.jsonl, .csv, .tsv, .txt) or snapshot folders (their train split is used).")
    var inputs: [String]

    @Option(name: .customLong("vocab-size"), help: "Vocabulary size, special tokens included.")
    var vocabSize: Int = 8192

    @Option(name: .customLong("min-frequency"), help: "Stop when no pair occurs this often.")
    var minFrequency: Int = 2

    @Option(help: "Pre-tokenizer: gpt2 or llama3.")
    var pattern: String = "gpt2"

    @Option(name: .shortAndLong, help: "Where to write tokenizer.json.")
    var output: String

    func run() throws {
        let pre: PreTokenizer
        switch pattern {
        case "gpt2": pre = .gpt2
        case "llama3": pre = .llama3
        default: throw ValidationError("--pattern must be gpt2 or llama3")
        }
        guard vocabSize > 256 + SpecialTokens.all.count else {
            throw ValidationError("--vocab-size must exceed \(256 + SpecialTokens.all.count) (256 bytes and the special tokens)")
        }
        var texts: [String] = []
        for path in inputs {
            let url = URL(fileURLWithPath: path)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw fail("\(path): no such file") }
            if isDir.boolValue {
                try Snapshot(url).forEachExample(.train) { texts.append($0.prompt + $0.completion) }
            } else {
                do {
                    let summary = try DatasetReader.read(url, onExample: { texts.append($1.prompt + $1.completion) }, onReject: { reject in
                        FileHandle.standardError.write(Data("skipped \(reject.description)\n".utf8))
                    })
                    if summary.rejected > 0 { FileHandle.standardError.write(Data("\(path): \(summary.rejected) rows skipped\n".utf8)) }
                } catch let error as DatasetFileError {
                    throw fail(error.description)
                }
            }
        }
        let start = ContinuousClock.now
        let tokenizer = BPETokenizer.train(texts: texts, vocabSize: vocabSize, minFrequency: minFrequency, preTokenizer: pre)
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        try tokenizer.save(to: URL(fileURLWithPath: output))
        print("wrote \(output): \(tokenizer.vocabSize) tokens (\(tokenizer.mergeCount) merges) from \(texts.count) texts in "
            + String(format: "%.2f s", seconds))
    }
}

struct TokenizerEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Print the token ids of a text (argument, or standard input), space-separated."
    )

    @Option(name: .shortAndLong, help: "tokenizer.json to use.")
    var tokenizer: String

    @Argument(help: "Text to encode (default: all of standard input).")
    var text: String?

    func run() throws {
        let tok = try loadTokenizer(tokenizer)
        let input = text ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        print(tok.encode(input).map(String.init).joined(separator: " "))
    }
}

struct TokenizerDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print the text of token ids (arguments, or whitespace-separated on standard input), exactly."
    )

    @Option(name: .shortAndLong, help: "tokenizer.json to use.")
    var tokenizer: String

    @Flag(name: .customLong("skip-special"), help: "Leave special tokens out.")
    var skipSpecial = false

    @Argument(help: "Token ids (default: read from standard input).")
    var ids: [String] = []

    func run() throws {
        let tok = try loadTokenizer(tokenizer)
        let words = ids.isEmpty
            ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self).split(whereSeparator: { $0.isWhitespace }).map(String.init)
            : ids
        var values: [Int] = []
        for w in words {
            guard let v = Int(w), v >= 0, v < tok.vocabSize else { throw fail("\"\(w)\" is not a token id (0..<\(tok.vocabSize))") }
            values.append(v)
        }
        FileHandle.standardOutput.write(Data(tok.decodeBytes(values, skipSpecialTokens: skipSpecial)))
    }
}

private func loadTokenizer(_ path: String) throws -> BPETokenizer {
    do {
        return try BPETokenizer(contentsOf: URL(fileURLWithPath: path))
    } catch let error as TokenizerFileError {
        throw fail(error.description)
    } catch {
        throw fail("\(path): \(error.localizedDescription)")
    }
}

/// Prints `message` as an error and exits with status 1.
private func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(1)
}
