import ArgumentParser
import Foundation
import SiraData
import SiraIO

/// `sira-pipeline bench tokenizer`: the data path's figures (DESIGN.md §9), on a corpus generated
/// here (`SyntheticCorpus`, deterministic, multilingual; no downloads):
/// - BPE training time to `--vocab-size` on `--corpus-mb` MB;
/// - encode throughput (MB of UTF-8 per second) on one thread and on all cores;
/// - the `tokenizers` library's encode throughput on the same tokenizer.json and the same texts,
///   one thread (`encode_batch` with RAYON_NUM_THREADS=1) — the target is ours ≥ theirs — and a
///   checksum of both id streams, which must be equal;
/// - ingest throughput for a JSONL and a CSV file of the same text.
/// Each throughput is the best of `--repeats` runs. Single-thread encode is also given per CPU second
/// (both sides), which stays comparable when other processes load the machine. Build with
/// `-c release` for meaningful figures.
struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "BPE training time, encode MB/s (1 thread, all cores) against the tokenizers library, ingest MB/s."
    )

    @Option(name: .customLong("corpus-mb"), help: "Size of the generated corpus in MB.")
    var corpusMB: Int = 20

    @Option(name: .customLong("vocab-size"), help: "Vocabulary size to train.")
    var vocabSize: Int = 8192

    @Option(help: "Runs per throughput figure (the best is reported).")
    var repeats: Int = 3

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    @Option(help: "Keep the generated files (corpus as JSONL and CSV, tokenizer.json) in this folder.")
    var keep: String?

    func validate() throws {
        guard corpusMB >= 1, repeats >= 1, vocabSize > 256 + SpecialTokens.all.count else {
            throw ValidationError("--corpus-mb and --repeats must be at least 1, --vocab-size above \(256 + SpecialTokens.all.count)")
        }
    }

    func run() throws {
        let dir = keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("sira-bench-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: dir) } }
        let cores = ProcessInfo.processInfo.activeProcessorCount

        let texts = SyntheticCorpus.paragraphs(bytes: corpusMB << 20)
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        let mb = Double(bytes) / 1_048_576

        var start = ContinuousClock.now
        let trained = BPETokenizer.train(texts: texts, vocabSize: vocabSize)
        let trainSeconds = seconds(since: start)
        let tokenizerURL = dir.appendingPathComponent("tokenizer.json")
        try trained.save(to: tokenizerURL)
        // Encode with the tokenizer as loaded from disk, as the pipeline does.
        let tokenizer = try BPETokenizer(contentsOf: tokenizerURL)

        func bestEncode(threads: Int) -> (seconds: Double, cpuSeconds: Double, ids: [[Int32]]) {
            var best = Double.infinity
            var bestCPU = Double.infinity
            var ids: [[Int32]] = []
            for _ in 0 ..< repeats {
                let t = ContinuousClock.now
                let c = processCPUSeconds()
                ids = tokenizer.encodeBatch(texts, threads: threads)
                best = min(best, seconds(since: t))
                bestCPU = min(bestCPU, processCPUSeconds() - c)
            }
            return (best, bestCPU, ids)
        }
        let single = bestEncode(threads: 1)
        let multi = bestEncode(threads: cores)
        let tokens = single.ids.reduce(0) { $0 + $1.count }
        var hasher = ContentHasher()
        for ids in single.ids { ids.withUnsafeBytes { hasher.update($0) } }
        let checksum = hasher.finalize()
        let identicalThreads = single.ids == multi.ids

        let corpusURL = dir.appendingPathComponent("corpus.json")
        try AtomicFile.write(JSONWriter.serialize(.array(texts.map(JSONValue.string))), to: corpusURL)
        let peer = runPeer(tokenizer: tokenizerURL, corpus: corpusURL)

        // Ingest: the same paragraphs as JSONL {"text"} and as CSV prompt,completion.
        let jsonl = dir.appendingPathComponent("bench.jsonl")
        try AtomicFile.write(to: jsonl) { handle in
            var out: [UInt8] = []
            for t in texts {
                out += Array(#"{"text":"#.utf8)
                JSONWriter.writeString(t, to: &out)
                out += Array("}\n".utf8)
                if out.count > 1 << 20 { try handle.write(contentsOf: out); out.removeAll(keepingCapacity: true) }
            }
            try handle.write(contentsOf: out)
        }
        let csv = dir.appendingPathComponent("bench.csv")
        try AtomicFile.write(to: csv) { handle in
            var out = Array("prompt,completion\r\n".utf8)
            for t in texts {
                let cut = t.firstIndex(of: ".").map { t.index(after: $0) } ?? t.endIndex
                out += csvField(String(t[..<cut])) + [UInt8(ascii: ",")] + csvField(String(t[cut...]).isEmpty ? "." : String(t[cut...])) + [0x0D, 0x0A]
                if out.count > 1 << 20 { try handle.write(contentsOf: out); out.removeAll(keepingCapacity: true) }
            }
            try handle.write(contentsOf: out)
        }
        func ingestRate(_ file: URL) throws -> Double {
            var best = Double.infinity
            for r in 0 ..< repeats {
                let ws = dir.appendingPathComponent("ws-\(file.pathExtension)-\(r)")
                start = ContinuousClock.now
                _ = try Ingestor(root: ws).ingest([file], options: IngestOptions(task: "bench"))
                best = min(best, seconds(since: start))
                try? FileManager.default.removeItem(at: ws)
            }
            let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.doubleValue ?? 0
            return size / 1_048_576 / best
        }
        let jsonlRate = try ingestRate(jsonl)
        let csvRate = try ingestRate(csv)

        let oursSingle = mb / single.seconds
        let oursSingleCPU = mb / single.cpuSeconds
        let oursMulti = mb / multi.seconds
        let peerSingle = peer.map { mb / $0.seconds }
        let peerSingleCPU = peer.map { mb / $0.cpuSeconds }
        let sameIDs = peer.map { $0.checksum == checksum && $0.tokens == tokens }
        let rows: [[String]] = [
            ["corpus", String(format: "%.1f MB, %d paragraphs", mb, texts.count), "", ""],
            ["BPE training, vocab \(tokenizer.vocabSize)", String(format: "%.2f s", trainSeconds), "", ""],
            ["encode, 1 thread", String(format: "%.1f MB/s", oursSingle),
             peerSingle.map { String(format: "%.1f MB/s", $0) } ?? "unavailable", "ours >= tokenizers"],
            ["encode, 1 thread, per CPU second", String(format: "%.1f MB/s", oursSingleCPU),
             peerSingleCPU.map { String(format: "%.1f MB/s", $0) } ?? "unavailable", "ours >= tokenizers"],
            ["encode, \(cores) threads", String(format: "%.1f MB/s", oursMulti), "", ""],
            ["  CPU time, \(cores) threads / 1 thread", String(format: "%.2f", multi.cpuSeconds / single.cpuSeconds), "", "about 1"],
            ["tokens (same ids as tokenizers)", "\(tokens)", sameIDs.map { $0 ? "identical" : "DIFFERENT" } ?? "-", ""],
            ["ingest JSONL", String(format: "%.1f MB/s", jsonlRate), "", ""],
            ["ingest CSV", String(format: "%.1f MB/s", csvRate), "", ""],
        ]
        print(TextTable(["figure", "sira-pipeline", "tokenizers \(peer?.version ?? "")", "target"], rows: rows).render())
        if let peerSingle {
            print(String(format: "single-thread encode: %.2fx the tokenizers library (wall clock), %.2fx per CPU second",
                         oursSingle / peerSingle, oursSingleCPU / (peerSingleCPU ?? 1)))
        } else {
            print("tokenizers library unavailable: \(peerError ?? "python3 failed")")
        }
        if !identicalThreads { print("WARNING: multi-threaded ids differ from single-threaded ids") }

        if let json {
            var members: [JSONMember] = [
                JSONMember("corpus_bytes", .number(Double(bytes))),
                JSONMember("paragraphs", .number(Double(texts.count))),
                JSONMember("vocab_size", .number(Double(tokenizer.vocabSize))),
                JSONMember("train_seconds", .number(trainSeconds)),
                JSONMember("encode_mb_per_s_1_thread", .number(oursSingle)),
                JSONMember("encode_mb_per_cpu_s_1_thread", .number(oursSingleCPU)),
                JSONMember("encode_mb_per_s_all_cores", .number(oursMulti)),
                JSONMember("encode_cpu_ratio_all_cores_vs_1_thread", .number(multi.cpuSeconds / single.cpuSeconds)),
                JSONMember("threads", .number(Double(cores))),
                JSONMember("tokens", .number(Double(tokens))),
                JSONMember("ingest_jsonl_mb_per_s", .number(jsonlRate)),
                JSONMember("ingest_csv_mb_per_s", .number(csvRate)),
            ]
            if let peer, let peerSingle {
                members.append(JSONMember("tokenizers_version", .string(peer.version)))
                members.append(JSONMember("tokenizers_encode_mb_per_s_1_thread", .number(peerSingle)))
                members.append(JSONMember("tokenizers_encode_mb_per_cpu_s_1_thread", .number(mb / peer.cpuSeconds)))
                members.append(JSONMember("tokenizers_same_ids", .bool(sameIDs ?? false)))
                members.append(JSONMember("encode_ratio_vs_tokenizers", .number(oursSingle / peerSingle)))
            }
            try AtomicFile.write(JSONWriter.serialize(.object(members)) + "\n", to: URL(fileURLWithPath: json))
        }
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func csvField(_ s: String) -> [UInt8] {
        [UInt8(ascii: "\"")] + Array(s.replacingOccurrences(of: "\"", with: "\"\"").utf8) + [UInt8(ascii: "\"")]
    }

    /// CPU time of this process (all threads), which contention from other processes does not inflate.
    private func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    private struct Peer {
        var seconds: Double
        var cpuSeconds: Double
        var tokens: Int
        var checksum: String
        var version: String
    }

    private nonisolated(unsafe) static var lastPeerError: String?
    private var peerError: String? { Self.lastPeerError }

    /// The `tokenizers` library on the same files, one thread; nil if python3 or the library is missing.
    private func runPeer(tokenizer: URL, corpus: URL) -> Peer? {
        let script = """
        import hashlib, json, sys, time, array
        import tokenizers
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(sys.argv[1])
        texts = json.load(open(sys.argv[2], encoding='utf-8'))
        best = float('inf')
        best_cpu = float('inf')
        for _ in range(int(sys.argv[3])):
            t = time.perf_counter()
            c = time.process_time()
            enc = tok.encode_batch(texts, add_special_tokens=False)
            best = min(best, time.perf_counter() - t)
            best_cpu = min(best_cpu, time.process_time() - c)
        h = hashlib.sha256()
        n = 0
        for e in enc:
            h.update(array.array('i', e.ids).tobytes())
            n += len(e.ids)
        print(json.dumps({"seconds": best, "cpu_seconds": best_cpu, "tokens": n, "checksum": h.hexdigest(), "version": tokenizers.__version__}))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, tokenizer.path, corpus.path, String(repeats)]
        var env = ProcessInfo.processInfo.environment
        env["RAYON_NUM_THREADS"] = "1"
        env["TOKENIZERS_PARALLELISM"] = "true"
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            Self.lastPeerError = "cannot run python3: \(error)"
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let v = try? JSONParser.parse(Array(data)),
              let s = v["seconds"]?.doubleValue, let cs = v["cpu_seconds"]?.doubleValue, let n = v["tokens"]?.intValue, let c = v["checksum"]?.stringValue
        else {
            Self.lastPeerError = String(decoding: errData, as: UTF8.self)
            return nil
        }
        return Peer(seconds: s, cpuSeconds: cs, tokens: n, checksum: c, version: v["version"]?.stringValue ?? "")
    }
}
