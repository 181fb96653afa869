import ArgumentParser
import Foundation
import SiraIO
import SiraKernels
import SiraModel

/// `sira-pipeline bench model`: the base model's own speed — full pretraining steps (every
/// weight trained, the built-in base's workload), a frozen-base step (the backbone cost under
/// adapter training, no adapter), and KV-cache generation. Random weights; figures only.
struct BenchModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Pretraining step, frozen-base step and KV-cache generation throughput of the Llama engine."
    )

    @Option(help: "Timed steps per case.") var steps = 5
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Sequence length of the builtin-small case; its batch keeps 2048 tokens per step (long sequences show the attention's share).") var seq = 128
    @Flag(help: "Also run the SmolLM2-135M shape (30 layers, hidden 576), slower.") var large = false
    @Option(help: "Write the figures as JSON to this file.") var json: String?

    struct Row: Codable {
        var model: String
        var workload: String
        var batch: Int
        var seq: Int
        var tokensPerSecond: Double
        var secondsPerStep: Double
        /// CPU time of the whole process per step (all threads): on a shared machine, wall time
        /// says how busy the neighbours were, this says what the step costs.
        var cpuSecondsPerStep: Double
        var gflopPerSecond: Double
    }

    func validate() throws {
        guard seq >= 1 else { throw ValidationError("--seq must be at least 1") }
    }

    func run() throws {
        if let threads { KernelThreads.count = threads }
        var shapes: [(String, LlamaConfig, Int, Int)] = [
            ("builtin-small", LlamaConfig(hiddenSize: 256, intermediateSize: 768, numHiddenLayers: 4, numAttentionHeads: 4,
                                          numKeyValueHeads: 2, vocabSize: 4096, maxPositionEmbeddings: max(512, seq)), max(1, 2048 / seq), seq),
        ]
        if large {
            shapes.append(("smollm2-135m", LlamaConfig(hiddenSize: 576, intermediateSize: 1536, numHiddenLayers: 30,
                                                       numAttentionHeads: 9, numKeyValueHeads: 3, vocabSize: 49152,
                                                       tieWordEmbeddings: true, maxPositionEmbeddings: 2048), 4, 256))
        }
        var rows: [Row] = []
        for (name, config, batch, seq) in shapes {
            let model = LlamaModel(config: config, seed: 1)
            model.threads = KernelThreads.count
            let tokens = batch * seq
            var rng = SystemRandomNumberGenerator()
            let ids = (0..<tokens).map { _ in Int32.random(in: 0..<Int32(config.vocabSize), using: &rng) }
            let b = TokenBatch(batch: batch, seq: seq, tokens: ids, targets: ids.map { ($0 + 1) % Int32(config.vocabSize) },
                               lossMask: [Float](repeating: 1, count: tokens))
            let forwardFlops = Self.forwardFlops(config, seq: seq) * Double(tokens)
            for trainable in [true, false] {
                model.setTrainable(trainable)
                model.forwardBackward(b, mode: .training(seed: 0))
                let start = Date(), cpuStart = Self.cpuSeconds()
                for s in 0..<steps { model.forwardBackward(b, mode: .training(seed: UInt64(s))) }
                let perStep = Date().timeIntervalSince(start) / Double(steps)
                let cpuPerStep = (Self.cpuSeconds() - cpuStart) / Double(steps)
                // Backward costs two forwards when weights are trained, one (input grads only) when frozen.
                let flops = forwardFlops * (trainable ? 3 : 2)
                rows.append(Row(model: name, workload: trainable ? "pretrain step" : "frozen-base step", batch: batch, seq: seq,
                                tokensPerSecond: Double(tokens) / perStep, secondsPerStep: perStep,
                                cpuSecondsPerStep: cpuPerStep, gflopPerSecond: flops / perStep / 1e9))
            }
            model.releaseActivations()
            model.setTrainable(false)
            let prompt = (0..<32).map { $0 % config.vocabSize }
            let generated = 64
            let start = Date(), cpuStart = Self.cpuSeconds()
            let out = model.generate(prompt: prompt, maxTokens: generated, temperature: 0)
            let seconds = Date().timeIntervalSince(start)
            rows.append(Row(model: name, workload: "generate (kv cache)", batch: 1, seq: prompt.count + out.count,
                            tokensPerSecond: Double(out.count) / seconds, secondsPerStep: seconds / Double(out.count),
                            cpuSecondsPerStep: (Self.cpuSeconds() - cpuStart) / Double(out.count), gflopPerSecond: 0))
        }
        print("threads: \(KernelThreads.count)")
        print("model".padding(toLength: 15, withPad: " ", startingAt: 0) + "workload".padding(toLength: 21, withPad: " ", startingAt: 0)
              + "batch×seq      tokens/s    s/step  cpu s/step   GFLOP/s")
        for r in rows {
            print(r.model.padding(toLength: 15, withPad: " ", startingAt: 0) + r.workload.padding(toLength: 21, withPad: " ", startingAt: 0)
                  + "\(r.batch)×\(r.seq)".padding(toLength: 10, withPad: " ", startingAt: 0)
                  + String(format: "%12.0f %9.4f %11.4f %9.1f", r.tokensPerSecond, r.secondsPerStep, r.cpuSecondsPerStep, r.gflopPerSecond))
        }
        if let json {
            struct Report: Codable { var threads: Int; var rows: [Row] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(Array(try encoder.encode(Report(threads: KernelThreads.count, rows: rows))),
                                 to: URL(fileURLWithPath: json))
        }
    }

    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Forward FLOPs per token: 2 × (projection and lm_head weights) + the attention GEMMs
    /// counted over the full `seq × seq` block (PaLM's MFU convention), although the engine
    /// computes only the causal half of it (plus the diagonal blocks).
    static func forwardFlops(_ c: LlamaConfig, seq: Int) -> Double {
        let qDim = c.numAttentionHeads * c.headDim, kvDim = c.numKeyValueHeads * c.headDim
        let perLayer = c.hiddenSize * (qDim + 2 * kvDim) + qDim * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize
        let weights = Double(perLayer * c.numHiddenLayers + c.vocabSize * c.hiddenSize)
        return 2 * weights + Double(c.numHiddenLayers) * 4 * Double(seq * qDim)
    }
}
