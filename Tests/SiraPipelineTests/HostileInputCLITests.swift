import Foundation
import SiraData
import SiraIO
import SiraModel
import Testing
@testable import SiraPipeline

/// Issue 16: hostile input through the built binary gets a clear error naming the option, file or
/// kind of file, and a non-zero exit; never a crash, a hang or memory corruption.
@Suite(.serialized) struct HostileInputCLITests {
    /// A workspace with a tiny random model folder `model/` (context 16, so generation is short).
    static func workspace() throws -> TempWorkspace {
        let tw = TempWorkspace("hostile")
        let text = (0..<40).map { "reverse stone \($0) enots" }
        let tokenizer = BPETokenizer.train(texts: text, vocabSize: 300, threads: 1)
        let config = LlamaConfig(hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 1, numAttentionHeads: 2,
                                 numKeyValueHeads: 1, vocabSize: tokenizer.vocabSize, maxPositionEmbeddings: 16)
        let folder = tw.url.appendingPathComponent("model")
        try LlamaModel(config: config, seed: 3).saveHuggingFace(to: folder)
        try tokenizer.save(to: folder.appendingPathComponent("tokenizer.json"))
        return tw
    }

    func run(_ tw: TempWorkspace, _ arguments: [String]) throws -> ChildProcess.Result {
        try ChildProcess(TinyPipeline.binary, arguments, in: tw.url).wait(timeout: 60)
    }

    /// Item 1: `prompt + max-tokens` overflowed into heap corruption (SIGABRT / SIGSEGV).
    @Test func hugeMaxTokensAndThreadsAreRangeErrors() throws {
        let tw = try Self.workspace()
        for huge in ["9223372036854775807", "9223372036854775806"] {
            let r = try run(tw, ["generate", "--model", "model", "--prompt", "1", "--max-tokens", huge])
            #expect(r.status == 64 && r.stderr.contains("--max-tokens must be in 0..."), "\(r.status) \(r.stderr)")
        }
        let r = try run(tw, ["generate", "--model", "model", "--prompt", "1", "--threads", "9223372036854775807"])
        #expect(r.status == 64 && r.stderr.contains("--threads must be in 1..."), "\(r.status) \(r.stderr)")
        // The largest accepted value stops at the model's context (16 positions), exit 0.
        let ok = try run(tw, ["generate", "--model", "model", "--prompt", "1", "--max-tokens", "\(1 << 24)", "--temperature", "0"])
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    /// Item 10: score inputs that are not regular files, and a boolean among token ids.
    @Test func scoreRefusesNonFilesAndBooleanIds() throws {
        let tw = try Self.workspace()
        try FileManager.default.createDirectory(at: tw.url.appendingPathComponent("x.jsonl"), withIntermediateDirectories: true)
        #expect(mkfifo(tw.url.appendingPathComponent("pipe.jsonl").path, 0o644) == 0)
        for (input, kind) in [("x.jsonl", "is a folder"), ("pipe.jsonl", "is a FIFO"), ("/dev/null", "is a character device")] {
            let r = try run(tw, ["score", "--model", "model", "--input", input])
            #expect(r.status != 0 && r.stderr.contains("\(input): \(kind)"), "\(input): \(r.status) \(r.stderr)")
        }
        try tw.write("{\"ids\": [1, true]}\n", to: "bool.jsonl")
        let r = try run(tw, ["score", "--model", "model", "--input", "bool.jsonl"])
        #expect(r.status != 0 && r.stdout.isEmpty && r.stderr.contains("bool.jsonl:1: \"ids\" must be a list of integers"), "\(r.stderr)")
    }

    /// Item 10: a `.sira` that is a folder, as --adapter and to verify.
    @Test func aFolderNamedSiraIsNotAPackage() throws {
        let tw = try Self.workspace()
        try FileManager.default.createDirectory(at: tw.url.appendingPathComponent("a.sira"), withIntermediateDirectories: true)
        let g = try run(tw, ["generate", "--model", "model", "--prompt", "1", "--adapter", "a.sira"])
        #expect(g.status != 0 && g.stderr.contains("a.sira: is a folder, not a regular file"), "\(g.stderr)")
        let v = try run(tw, ["verify", "a.sira"])
        #expect(v.status == 1 && v.stderr.contains("a.sira: is a folder"), "\(v.stderr)")
    }

    /// Items 6 and 10: ingest reads regular files only (a FIFO by path is refused, one in the inbox
    /// quarantined unread: neither hangs), range-checks --eval-fraction, names a folder as such.
    @Test func ingestReadsOnlyRegularFiles() throws {
        let tw = try Self.workspace()
        let r = try run(tw, ["ingest", "--eval-fraction", "-1", "whatever.jsonl"])
        #expect(r.status == 64 && r.stderr.contains("--eval-fraction must be in [0, 1), got -1"), "\(r.stderr)")
        try FileManager.default.createDirectory(at: tw.url.appendingPathComponent("x.jsonl"), withIntermediateDirectories: true)
        let folder = try run(tw, ["ingest", "x.jsonl"])
        #expect(folder.status != 0 && folder.stderr.contains("x.jsonl: is a folder, not a regular file"), "\(folder.stderr)")
        #expect(mkfifo(tw.url.appendingPathComponent("p.jsonl").path, 0o644) == 0)
        let fifo = try run(tw, ["ingest", "p.jsonl"])
        #expect(fifo.status != 0 && fifo.stderr.contains("p.jsonl: is a FIFO (named pipe), not a regular file"), "\(fifo.stderr)")
        let dev = try run(tw, ["ingest", "--format", "text", "--task", "z", "/dev/zero"])
        #expect(dev.status != 0 && dev.stderr.contains("/dev/zero: is a character device"), "\(dev.stderr)")

        try tw.write("{\"prompt\": \"a\", \"completion\": \"b\"}\n", to: "data/inbox/good.jsonl")
        let inboxFifo = tw.url.appendingPathComponent("data/inbox/q.jsonl")
        #expect(mkfifo(inboxFifo.path, 0o644) == 0)
        let mixed = try run(tw, ["ingest", "--task", "t", "data/inbox/good.jsonl", "data/inbox/q.jsonl"])
        #expect(mixed.status == 1 && mixed.stderr.contains("q.jsonl: is a FIFO (named pipe), not a regular file; it was not read"), "\(mixed.stderr)")
        #expect(FileKind(path: tw.url.appendingPathComponent("data/quarantine/q.jsonl").path) == .fifo)
        let reason = try String(contentsOf: tw.url.appendingPathComponent("data/quarantine/q.jsonl.reason"), encoding: .utf8)
        #expect(reason.contains("FIFO"))
    }

    /// Item 10: a duplicated CSV column is refused naming it; a raw NUL byte is rejected in CSV as
    /// in JSONL (one verdict for the same bytes).
    @Test func csvDuplicateColumnsAndNULBytes() throws {
        let tw = try Self.workspace()
        try tw.write("prompt,prompt,completion\na,b,c\n", to: "dup.csv")
        let dup = try run(tw, ["ingest", "dup.csv"])
        #expect(dup.status != 0 && dup.stderr.contains("column \"prompt\" appears twice in the header (columns 1 and 2)"), "\(dup.stderr)")
        try tw.write("prompt,completion\na\u{0}x,b\nc,d\n", to: "nul.csv")
        try tw.write("{\"prompt\": \"a\u{0}x\", \"completion\": \"b\"}\n{\"prompt\": \"c\", \"completion\": \"d\"}\n", to: "nul.jsonl")
        for file in ["nul.csv", "nul.jsonl"] {
            let r = try run(tw, ["ingest", "--task", file.replacingOccurrences(of: ".", with: "_"), file])
            #expect(r.status == 0 && r.stdout.contains("records 1") && r.stdout.contains("rejected 1"), "\(file): \(r.stdout) \(r.stderr)")
        }
    }

    /// Item 10: `validate` and `run` give the same exit status (65) for an invalid manifest.
    @Test func validateAndRunAgreeOnAnInvalidManifest() throws {
        let tw = try Self.workspace()
        try tw.write("name: bad\ntasks: 3\n", to: "bad.yaml")
        let v = try run(tw, ["validate", "bad.yaml"]), r = try run(tw, ["run", "bad.yaml", "--plain"])
        #expect(v.status == 65 && r.status == 65, "validate \(v.status), run \(r.status): \(v.stderr) \(r.stderr)")
    }
}
