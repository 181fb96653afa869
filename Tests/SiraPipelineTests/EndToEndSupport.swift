import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// A workspace with two small exact-match tasks (`add`, `rev`) and a corpus, and a tiny manifest
/// that runs end to end in seconds in a debug build.
final class TinyPipeline: @unchecked Sendable {
    let tw = TempWorkspace("e2e")
    var root: URL { tw.url }
    var workspace: Workspace { tw.workspace }
    let manifestPath = "pipelines/tiny.yaml"

    static let words = ["stone", "apple", "river", "cloud", "green", "table", "mouse", "light", "paper", "glass",
                        "water", "house", "plant", "chair", "night", "smile", "bread", "train", "music", "heart"]

    /// `variants`: the `adapters:` entries (none when empty); `compare`: a `compare:` value.
    init(trainSteps: Int = 6, saveEvery: Int = 2, jobs: Int = 2, variants: String = "lora: {r: 2}\n  sira: {r: 2, num_experts: 3, top_k: 2}\n  multitask: {from: sira}",
         compare: String? = nil, trainExtra: String = "") throws {
        var add = ""
        for i in 0 ..< 30 { add += "{\"prompt\": \"\(i)+\(i % 7)=\", \"completion\": \"\(i + i % 7)\"}\n" }
        try tw.write(add, to: "data/src/add.jsonl")
        var rev = "word\treversed\n"
        for w in Self.words { rev += "reverse \(w)\t\(String(w.reversed()))\n" }
        try tw.write(rev, to: "data/src/rev.tsv")
        var corpus = ""
        for i in 0 ..< 40 { corpus += "\(i)+\(i % 5)=\(i + i % 5)\nreverse \(Self.words[i % 20]) \(String(Self.words[i % 20].reversed()))\n\n" }
        try tw.write(corpus, to: "data/src/corpus.txt")
        try tw.write("""
        name: tiny
        tasks:
          - {name: add, from: data/src/add.jsonl, eval_fraction: 0.2}
          - {name: rev, from: data/src/rev.tsv, columns: {prompt: word, completion: reversed}, eval_fraction: 0.2}
          - {name: corpus, from: data/src/corpus.txt, adapt: false}
        tokenizer: {train: {vocab_size: 300, corpus: [corpus]}}
        base: {builtin: {layers: 1, hidden: 16, heads: 2, kv_heads: 1, pretrain_steps: 4, batch: 2, seq_len: 16, corpus: [corpus]}}
        \(variants.isEmpty ? "" : "adapters:\n  " + variants)
        \(compare.map { "compare: " + $0 } ?? "")
        train: {steps: \(trainSteps), batch: 2, seq_len: 16, warmup: 1, save_every: \(saveEvery)\(trainExtra)}
        evaluate: {max_new_tokens: 4, max_examples: 3}
        retries: 0
        jobs: \(jobs)

        """, to: manifestPath)
    }

    func manifest() throws -> Manifest {
        try ManifestLoader.load(workspace.resolve(manifestPath), displayPath: manifestPath)
    }

    /// The `sira-pipeline` binary next to the test bundle.
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sira-pipeline")
    }

    func cli(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(Self.binary, arguments, in: root)
    }

    /// Runs the pipeline in a child process to the end.
    func run(_ extra: [String] = []) throws -> ChildProcess.Result {
        try cli(["run", manifestPath, "--plain"] + extra).wait()
    }
}

/// A child process whose output lines can be waited for.
final class ChildProcess: @unchecked Sendable {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    let process = Process()
    private let lock = NSCondition()
    private var out = ""
    private var err = ""
    /// The raw bytes, decoded as a whole so a UTF-8 sequence split across reads stays intact.
    private var outBytes = Data()
    private var errBytes = Data()
    private var closed = 0

    /// `environment`: variables set for the child on top of this process's.
    init(_ executable: URL, _ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws {
        #expect(FileManager.default.isExecutableFile(atPath: executable.path), "build the sira-pipeline target first")
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = folder
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        // One blocking reader thread per pipe, not `readabilityHandler`: under load the handler
        // could deliver the last chunk or the end of file late, and a result read then was cut.
        for (pipe, isOut) in [(o, true), (e, false)] {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while true {
                    let data = handle.availableData
                    lock.lock()
                    if data.isEmpty {
                        closed += 1
                    } else if isOut {
                        outBytes.append(data)
                        out = String(decoding: outBytes, as: UTF8.self)
                    } else {
                        errBytes.append(data)
                        err = String(decoding: errBytes, as: UTF8.self)
                    }
                    lock.broadcast()
                    lock.unlock()
                    if data.isEmpty { return }
                }
            }
        }
        try process.run()
    }

    /// Waits until stdout satisfies `condition` (true) or the timeout passes (false).
    func waitForOutput(timeout: Double, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while !condition(out) {
            if closed == 2 || !lock.wait(until: deadline) { return condition(out) }
        }
        return true
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    func wait(timeout: Double = 300) throws -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20000) }
        if process.isRunning {
            process.terminate()
            Issue.record("child process timed out")
        }
        process.waitUntilExit()
        lock.lock()
        // Both pipes reach end of file once the child and anything it spawned have exited.
        let drained = Date().addingTimeInterval(60)
        while closed < 2, lock.wait(until: drained) {}
        if closed < 2 { Issue.record("the child's output did not reach end of file within 60 s of its exit") }
        let r = Result(status: process.terminationStatus, stdout: out, stderr: err)
        lock.unlock()
        return r
    }
}
