import Foundation
import SiraIO
import SiraStore

/// Package and verify throughput (DESIGN.md §9: target ≥ 300 MB/s), next to the peer on the same
/// machine in the same run: GNU tar piping through the zstd tool at the same level.
public struct PackageBenchResult: Codable, Sendable {
    /// Uncompressed member bytes per package (the MB/s numerator; MB = 10^6 bytes).
    public var payloadBytes: Int64
    public var packageBytes: Int64
    public var level: Int32
    public var workers: Int32
    public var repeats: Int
    /// Best of `repeats`, seconds.
    public var packageSeconds: Double
    public var verifySeconds: Double
    public var extractSeconds: Double
    public var packageMBps: Double
    public var verifyMBps: Double
    public var extractMBps: Double
    /// CPU seconds (user + system, all threads) of the best run: on a shared machine, MB per
    /// CPU-second says what the code costs when wall time says how busy the machine was.
    public var packageCPUSeconds: Double
    public var verifyCPUSeconds: Double
    public var peerTarCreateCPUSeconds: Double?
    public var peerTarExtractCPUSeconds: Double?
    /// `tar --zstd -cf` of the same files (`zstd -<level>`), and `tar --zstd -xOf` to a pipe
    /// (decompress + untar, no hashing); nil when the tools are missing.
    public var peerTarCreateMBps: Double?
    public var peerTarExtractMBps: Double?
}

public enum PackageBench {
    /// Builds a package of a `payloadMiB` adapter (fp32 weights with trained-like entropy) plus a
    /// text tokenizer.json in `folder`, then times write, verify and extract, best of `repeats`.
    public static func run(folder: URL, payloadMiB: Int = 256, level: Int32 = 3, workers: Int32 = 0,
                           repeats: Int = 3) throws -> PackageBenchResult {
        let fm = FileManager.default
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let adapter = folder.appendingPathComponent("adapter.safetensors")
        let tokenizer = folder.appendingPathComponent("tokenizer.json")
        try AtomicFile.write(weights(bytes: payloadMiB << 20), to: adapter)
        let tokenizerBytes = tokenizerText(bytes: 1 << 20)
        try AtomicFile.write(tokenizerBytes, to: tokenizer)
        let manifest = PackageManifest(
            toolVersion: "bench", base: .init(name: "bench-base", sha256: String(repeating: "0", count: 64)),
            tokenizer: .init(sha256: ContentHash.sha256(tokenizerBytes)),
            adapters: ["bench": .init(file: "adapter.safetensors", variant: "sira", tasks: ["bench"],
                                      config: .object(["r": .number(8)]), metrics: [:])])
        let files = [PackageFile(name: "adapter.safetensors", source: adapter),
                     PackageFile(name: "tokenizer.json", source: tokenizer)]
        let pkg = folder.appendingPathComponent("bench.sira")
        var written: PackageWriteResult?
        let (write, writeCPU) = try best(repeats) {
            written = try SiraPackage.write(to: pkg, manifest: manifest, files: files, level: level, workers: workers)
        }
        let (verify, verifyCPU) = try best(repeats) { _ = try SiraPackage.verify(pkg) }
        let (extract, _) = try best(repeats) {
            let x = try SiraPackage.extract(pkg, into: folder.appendingPathComponent("x"))
            try fm.removeItem(at: x.folder)
        }
        let payload = written!.inputBytes
        func mbps(_ seconds: Double?) -> Double? { seconds.map { Double(payload) / 1e6 / $0 } }

        let peerPkg = folder.appendingPathComponent("peer.tar.zst")
        let peerCreate = try? best(repeats, children: true) {
            try tool(["tar", "-I", "zstd -\(level) -q", "-cf", peerPkg.path, "-C", folder.path,
                      "adapter.safetensors", "tokenizer.json"])
        }
        let peerExtract = try? best(repeats, children: true) {
            try tool(["tar", "-I", "zstd -q", "-xOf", peerPkg.path])
        }
        return PackageBenchResult(
            payloadBytes: payload, packageBytes: written!.packageBytes, level: level, workers: workers, repeats: repeats,
            packageSeconds: write, verifySeconds: verify, extractSeconds: extract,
            packageMBps: mbps(write)!, verifyMBps: mbps(verify)!, extractMBps: mbps(extract)!,
            packageCPUSeconds: writeCPU, verifyCPUSeconds: verifyCPU,
            peerTarCreateCPUSeconds: peerCreate?.1, peerTarExtractCPUSeconds: peerExtract?.1,
            peerTarCreateMBps: mbps(peerCreate?.0), peerTarExtractMBps: mbps(peerExtract?.0))
    }

    /// (wall seconds, CPU seconds) of the fastest of `repeats` runs; CPU of this process, or of
    /// its finished children when `children`.
    private static func best(_ repeats: Int, children: Bool = false, _ body: () throws -> Void) throws -> (Double, Double) {
        var best = (Double.infinity, 0.0)
        for _ in 0 ..< max(1, repeats) {
            let cpu0 = cpuSeconds(children)
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if wall < best.0 { best = (wall, cpuSeconds(children) - cpu0) }
        }
        return best
    }

    private static func cpuSeconds(_ children: Bool) -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t((children ? RUSAGE_CHILDREN : RUSAGE_SELF).rawValue), &usage)
        #else
        getrusage(children ? RUSAGE_CHILDREN : RUSAGE_SELF, &usage)
        #endif
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// Runs a tool with its output discarded; throws on a non-zero exit.
    private static func tool(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw PackageError(package: arguments.joined(separator: " "), entry: nil, problem: .io("exit \(p.terminationStatus)"))
        }
    }

    /// fp32 values ~ N(0, 0.02)-like from a fixed-seed generator: random mantissas, clustered
    /// exponents, so zstd finds what it finds in real adapter weights (little).
    static func weights(bytes: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: bytes)
        var rng = SplitMix64(seed: 0x9E37_79B9_7F4A_7C15)
        out.withUnsafeMutableBytes { raw in
            let floats = raw.bindMemory(to: Float.self)
            for i in 0 ..< floats.count {
                let word = rng.next()
                let a = Float(word >> 40) / Float(1 << 24), b = Float((word >> 16) & 0xFFFFFF) / Float(1 << 24)
                floats[i] = (a + b - 1) * 0.03
            }
        }
        return out
    }

    /// A tokenizer.json-like text: a vocabulary of made-up merges.
    static func tokenizerText(bytes: Int) -> [UInt8] {
        var text = #"{"version":"1.0","model":{"type":"BPE","vocab":{"#
        var i = 0
        let letters = Array("etaoinshrdlucmfwypvbgkjqxz")
        while text.utf8.count < bytes - 16 {
            var word = ""
            var v = i &* 2654435761 % 100_000
            repeat { word.append(letters[v % letters.count]); v /= letters.count } while v > 0
            text += "\"\(word)\(i % 7 == 0 ? "Ġ" : "")\":\(i),"
            i += 1
        }
        return Array((text + "\"end\":0}}}").utf8)
    }
}
