import ArgumentParser
import Foundation
import SiraIO
import SiraBench
import SiraStore

/// `sira-pipeline bench package`: `.sira` write / verify / extract throughput against GNU tar + zstd
/// at the same level (DESIGN.md §9: package and verify ≥ 300 MB/s).
struct BenchPackageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Measure .sira package write, verify and extract MB/s against tar + zstd.")

    @Option(help: "Adapter payload size in MiB.") var mib: Int = 256
    @Option(help: "zstd level.") var level: Int32 = 3
    @Option(help: "zstd compression threads (0: the calling thread).") var workers: Int32 = 0
    @Option(help: "Repetitions; the best is reported.") var repeats: Int = 3
    @Option(help: "Write the figures as JSON to this file.") var json: String?

    func run() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sira-bench-package-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let r = try PackageBench.run(folder: folder, payloadMiB: mib, level: level, workers: workers, repeats: repeats)
        func f(_ v: Double?) -> String { v.map { String(format: "%.0f", $0) } ?? "n/a" }
        print("package: \(String(format: "%.1f", Double(r.payloadBytes) / 1e6)) MB payload -> "
              + "\(String(format: "%.1f", Double(r.packageBytes) / 1e6)) MB, zstd level \(r.level), workers \(r.workers), best of \(r.repeats)")
        func perCPU(_ seconds: Double?) -> String { seconds.map { f(Double(r.payloadBytes) / 1e6 / $0) } ?? "n/a" }
        print(TextTable(["operation", "MB/s", "seconds", "MB/cpu-s", "peer", "peer MB/s", "peer MB/cpu-s", "target"], rows: [
            ["write package", f(r.packageMBps), String(format: "%.3f", r.packageSeconds), perCPU(r.packageCPUSeconds),
             "tar -c | zstd", f(r.peerTarCreateMBps), perCPU(r.peerTarCreateCPUSeconds), ">= 300"],
            ["verify", f(r.verifyMBps), String(format: "%.3f", r.verifySeconds), perCPU(r.verifyCPUSeconds),
             "zstd -d | tar -xO", f(r.peerTarExtractMBps), perCPU(r.peerTarExtractCPUSeconds), ">= 300"],
            ["extract + verify", f(r.extractMBps), String(format: "%.3f", r.extractSeconds), "", "", "", "", ""],
        ]).render())
        print("MB = 10^6 bytes of package members; peer: GNU tar with the zstd tool at the same level (no hashing).")
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(Array(try encoder.encode(r)), to: URL(fileURLWithPath: json))
        }
    }
}
