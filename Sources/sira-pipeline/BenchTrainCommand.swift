import ArgumentParser
import Foundation
import SiraIO
import SiraKernels

/// `sira-pipeline bench train`: adapter-training speed (DESIGN.md §9). Measures the GEMM peak,
/// single adapted projections (LoRA vs MoLoRA vs SiRA), and whole training steps on random-weight
/// Llama shapes — each step case in its own child process so its peak memory is its own.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Adapter training: tokens/s, step time, peak memory and model-FLOP utilisation per adapter variant."
    )

    @Option(help: "Write the figures as JSON to this file.") var json: String?
    @Option(help: "Threads for the kernels (default: all cores).") var threads: Int?
    @Option(help: "Timed optimizer steps per case (after one warm-up step).") var steps = 3
    @Option(help: "Model shapes: small, smollm2-135m (repeat the option for several).") var model: [String] = ["small", "smollm2-135m"]
    @Option(help: "Sequences per step (default: 16 for small, 4 for smollm2-135m).") var batch: Int?
    @Option(help: "Tokens for the single-projection figures.") var layerTokens = 4096
    @Option(help: "Timed rounds for the single-projection figures (round-robin over the variants; medians).") var layerRepeats = 11
    @Flag(help: "Only the single-projection figures.") var layersOnly = false
    @Option(help: "Share of each row's positions the loss scores, at its end (1: language modelling; 0.25: adapter data with a prompt of 3/4).")
    var scoredFraction = 1.0
    @Option(help: .hidden) var singleCase: String?

    func validate() throws {
        guard scoredFraction > 0, scoredFraction <= 1 else { throw ValidationError("--scored-fraction must be in (0, 1], got \(scoredFraction)") }
    }

    func run() throws {
        let threads = max(1, self.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        KernelThreads.count = threads
        if let singleCase { return try runSingle(singleCase, threads: threads) }

        let peak = TrainingBenchmark.gemmPeak(threads: threads)
        print(String(format: "GEMM peak (1024³ fp32, %d thread%@): %.1f GFLOP/s", threads, threads == 1 ? "" : "s", peak / 1e9))

        let dim = 576
        let layer = TrainingBenchmark.layers(tokens: layerTokens, dim: dim, repeats: max(1, layerRepeats), threads: threads)
        let lora = layer.results.first { $0.variant == "lora-r8" }
        print("\nOne adapted projection \(layerTokens)×\(dim) → \(dim), forward + backward (median of \(max(1, layerRepeats)) rounds over the variants);")
        print("wall clock, then process CPU time (all threads; not inflated when other processes hold the cores):")
        print(pad("variant", 16) + pad("layer ms", 10) + pad("adapter ms", 12) + pad("layer/LoRA", 12) + pad("adapter/LoRA", 14)
              + pad("cpu layer ms", 14) + pad("cpu adapter", 13) + pad("layer/LoRA", 12) + pad("adapter/LoRA", 14) + "expert rows")
        print(pad("base only", 16) + pad(ms(layer.baseSeconds), 10) + String(repeating: " ", count: 38) + ms(layer.baseCPUSeconds))
        for r in layer.results {
            print(pad(r.variant, 16) + pad(ms(r.layerSeconds), 10) + pad(ms(r.adapterSeconds), 12)
                  + pad(ratio(r.layerSeconds, lora?.layerSeconds), 12) + pad(ratio(r.adapterSeconds, lora?.adapterSeconds), 14)
                  + pad(ms(r.layerCPUSeconds), 14) + pad(ms(r.adapterCPUSeconds), 13)
                  + pad(ratio(r.layerCPUSeconds, lora?.layerCPUSeconds), 12) + pad(ratio(r.adapterCPUSeconds, lora?.adapterCPUSeconds), 14)
                  + (r.expertRows.map(String.init) ?? "-"))
        }

        var steps: [TrainingBenchmark.StepResult] = []
        if !layersOnly {
            for name in model {
                guard TrainingBenchmark.ModelShape.named(name, batch: batch) != nil else {
                    throw ValidationError("unknown model shape '\(name)' (expected small or smollm2-135m)")
                }
                for variant in TrainingBenchmark.variants {
                    steps.append(try runChild(model: name, variant: variant.name, threads: threads))
                }
            }
            print("\nAdapter-training steps (random weights, frozen base; median of \(self.steps) steps after 1 warm-up):")
            print(pad("model", 14) + pad("variant", 16) + pad("tokens", 8) + pad("step s", 9) + pad("tok/s", 9)
                  + pad("MFU", 8) + pad("step/LoRA", 11) + "peak RSS")
            for s in steps {
                let base = steps.first { $0.model == s.model && $0.variant == "lora-r8" }
                let mfu = s.flopsPerStep / s.stepSeconds / peak
                print(pad(s.model, 14) + pad(s.variant, 16) + pad(String(s.tokensPerStep), 8)
                      + pad(String(format: "%.3f", s.stepSeconds), 9) + pad(String(format: "%.0f", s.tokensPerSecond), 9)
                      + pad(String(format: "%.1f%%", 100 * mfu), 8) + pad(ratio(s.stepSeconds, base?.stepSeconds), 11)
                      + String(format: "%.0f MB", Double(s.peakRSSBytes) / 1e6))
            }
        }

        if let json {
            struct Report: Codable {
                var threads: Int
                var gemmPeakFLOPS: Double
                var layerTokens: Int
                var layerDim: Int
                var layerBaseSeconds: Double
                var layerBaseCPUSeconds: Double
                var layers: [TrainingBenchmark.LayerResult]
                var steps: [TrainingBenchmark.StepResult]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = Report(threads: threads, gemmPeakFLOPS: peak, layerTokens: layerTokens, layerDim: dim,
                                layerBaseSeconds: layer.baseSeconds, layerBaseCPUSeconds: layer.baseCPUSeconds,
                                layers: layer.results, steps: steps)
            try AtomicFile.write(Array(try encoder.encode(report)), to: URL(fileURLWithPath: json))
            print("\nwrote \(json)")
        }
    }

    /// Runs one (model, variant) step case in this process and prints its result as one JSON line.
    private func runSingle(_ spec: String, threads: Int) throws {
        let parts = spec.split(separator: ":").map(String.init)
        guard parts.count == 2, let shape = TrainingBenchmark.ModelShape.named(parts[0], batch: batch),
              let variant = TrainingBenchmark.variants.first(where: { $0.name == parts[1] }) else {
            throw ValidationError("bad --single-case '\(spec)'")
        }
        let result = try TrainingBenchmark.step(shape: shape, variant: variant.name, adapter: variant.config, steps: steps, threads: threads,
                                                scored: scoredFraction)
        print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
    }

    private func runChild(model: String, variant: String, threads: Int) throws -> TrainingBenchmark.StepResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        if !FileManager.default.fileExists(atPath: process.executableURL!.path) {
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        }
        var args = ["bench", "train", "--single-case", "\(model):\(variant)", "--threads", String(threads), "--steps", String(steps),
                    "--scored-fraction", String(scoredFraction)]
        if let batch { args += ["--batch", String(batch)] }
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last else {
            throw ValidationError("bench case \(model):\(variant) failed (exit \(process.terminationStatus))")
        }
        return try JSONDecoder().decode(TrainingBenchmark.StepResult.self, from: Data(line.utf8))
    }

    private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
    private func ms(_ s: Double) -> String { String(format: "%.2f", s * 1000) }
    private func ratio(_ a: Double, _ b: Double?) -> String { b.map { String(format: "%.2fx", a / $0) } ?? "-" }
}
