import ArgumentParser
import Foundation
import SiraIO
import SiraPipeline

/// `sira-pipeline bench validate`: what `validate` costs for a manifest of many tasks (issue 16:
/// it was quadratic, 4000 tasks 110 s). A generated manifest of N tasks × one variant is loaded,
/// expanded into its stage graph and matched against an empty inbox, as `validate` does; the best
/// of `--repeats` is reported per size. Target: 10 000 tasks under 2 s.
struct BenchValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Time manifest validation (load, stage graph, task sources) for many tasks."
    )

    @Option(help: "Task counts to time, comma-separated.")
    var tasks: String = "1000,10000"

    @Option(help: "Repetitions; the best is reported.")
    var repeats: Int = 3

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    func validate() throws {
        guard (1...100).contains(repeats) else { throw ValidationError("--repeats must be in 1...100") }
        guard counts != nil else { throw ValidationError("--tasks must be positive integers up to 1000000, comma-separated") }
    }

    var counts: [Int]? {
        let parts = tasks.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 1_000_000 }) else { return nil }
        return parts.map { $0! }
    }

    struct Row: Codable { var tasks: Int; var stages: Int; var seconds: Double }

    func run() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sira-bench-validate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let ws = Workspace(root: root)
        var rows: [Row] = []
        for n in counts! {
            var text = "name: bench\ntasks:\n"
            for i in 0..<n { text += "  - {name: t\(i), from: data/inbox/t\(i).jsonl}\n" }
            text += "adapters:\n  lora: {r: 2}\ntrain: {steps: 30}\n"
            let url = root.appendingPathComponent("m\(n).yaml")
            try text.write(to: url, atomically: true, encoding: .utf8)
            var best = Double.infinity, stages = 0
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                let manifest = try ManifestLoader.load(url, displayPath: url.lastPathComponent)
                let graph = try StageGraph(manifest: manifest)
                _ = TaskSources.unmatched(manifest, workspace: ws)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                stages = graph.stages.count
            }
            rows.append(Row(tasks: n, stages: stages, seconds: best))
            print(String(format: "validate %6d tasks (%6d stages): %.3f s", n, stages, best))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(Array(try encoder.encode(rows)), to: URL(fileURLWithPath: json))
        }
    }
}
