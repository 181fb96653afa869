import SiraIO
import Foundation
import SiraKernels
import SiraModel

/// The measurements behind `sira-pipeline bench train`: GEMM peak, single adapted projections,
/// and whole adapter-training steps on random-weight Llama shapes.
enum TrainingBenchmark {
    /// A base-model shape to train adapters on.
    struct ModelShape: Codable {
        var name: String
        var config: LlamaConfig
        var batch: Int
        var seq: Int

        static func named(_ name: String, batch: Int?) -> ModelShape? {
            switch name {
            case "small":
                // The built-in base (ManifestDefaults.builtin): 4 layers, hidden 256, SwiGLU 704.
                ModelShape(name: name, config: LlamaConfig(hiddenSize: 256, intermediateSize: 704, numHiddenLayers: 4,
                                                          numAttentionHeads: 4, numKeyValueHeads: 2, vocabSize: 4096,
                                                          maxPositionEmbeddings: 512),
                           batch: batch ?? 16, seq: 128)
            case "smollm2-135m":
                ModelShape(name: name, config: LlamaConfig(hiddenSize: 576, intermediateSize: 1536, numHiddenLayers: 30,
                                                          numAttentionHeads: 9, numKeyValueHeads: 3, vocabSize: 49152,
                                                          tieWordEmbeddings: true, maxPositionEmbeddings: 2048),
                           batch: batch ?? 4, seq: 256)
            default: nil
            }
        }
    }

    /// The adapter variants every figure is measured for.
    static let variants: [(name: String, config: AdapterConfig)] = [
        ("lora-r8", AdapterConfig(type: .lora, r: 8, loraAlpha: 16)),
        ("molora-e8-r8", AdapterConfig(type: .molora, r: 8, loraAlpha: 16, numExperts: 8)),
        ("molora-e16-r8", AdapterConfig(type: .molora, r: 8, loraAlpha: 16, numExperts: 16)),
        ("sira-e8-k2-r8", AdapterConfig(type: .sira, r: 8, loraAlpha: 16, numExperts: 8, topK: 2)),
        ("sira-e16-k2-r8", AdapterConfig(type: .sira, r: 8, loraAlpha: 16, numExperts: 16, topK: 2)),
    ]

    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Process CPU seconds (all threads) spent in `body`: unlike wall time, not inflated while
    /// other processes on a shared machine hold the cores.
    static func cpuSeconds(_ body: () -> Void) -> Double {
        func now() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        let start = now()
        body()
        return now() - start
    }

    /// Best-of-`repeats` fp32 GEMM rate (FLOP/s) for a square `n` NN product on `threads` threads.
    static func gemmPeak(n: Int = 1024, threads: Int, repeats: Int = 5) -> Double {
        let a = Tensor(shape: [n, n]), b = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        var best = Double.infinity
        for _ in 0..<repeats {
            best = min(best, seconds {
                sgemm(.noTranspose, .noTranspose, m: n, n: n, k: n, alpha: 1, a: a.pointer, lda: n, b: b.pointer, ldb: n,
                      beta: 0, c: c.pointer, ldc: n, threads: threads)
            })
        }
        return 2 * Double(n * n * n) / best
    }

    /// Peak resident set size of this process so far, in bytes (getrusage).
    static func peakRSS() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }

    // MARK: - one adapted projection

    struct LayerResult: Codable {
        var variant: String
        /// W0 forward + dx backward + the adapter's forward and backward, seconds (median).
        var layerSeconds: Double
        /// The adapter's own forward + backward, seconds (median).
        var adapterSeconds: Double
        /// The same two figures in process CPU seconds (median; all threads).
        var layerCPUSeconds: Double
        var adapterCPUSeconds: Double
        /// Rows the expert GEMMs processed (SiRA), per forward.
        var expertRows: Int?
    }

    /// Times a `[tokens, dim] → [tokens, dim]` projection with each adapter variant, forward and
    /// backward, the way the model calls it. The base projection alone is `baseSeconds`.
    static func layers(tokens: Int, dim: Int, repeats: Int, threads: Int) -> (baseSeconds: Double, baseCPUSeconds: Double, results: [LayerResult]) {
        var rng = Xoshiro256(seed: 1)
        let x = Tensor(shape: [tokens, dim]), dy = Tensor(shape: [tokens, dim]), w0 = Tensor(shape: [dim, dim])
        let y = Tensor(shape: [tokens, dim]), dx = Tensor(shape: [tokens, dim])
        for t in [x, dy, w0] { for i in 0..<t.count { t[i] = rng.nextUnitFloat() * 2 - 1 } }
        func base() {
            sgemm(.noTranspose, .transpose, m: tokens, n: dim, k: dim, alpha: 1, a: x.pointer, lda: dim, b: w0.pointer, ldb: dim,
                  beta: 0, c: y.pointer, ldc: dim, threads: threads)
            sgemm(.noTranspose, .noTranspose, m: tokens, n: dim, k: dim, alpha: 1, a: dy.pointer, lda: dim, b: w0.pointer, ldb: dim,
                  beta: 0, c: dx.pointer, ldc: dim, threads: threads)
        }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        /// Wall and process CPU seconds of one call.
        func timed(_ body: () -> Void) -> (wall: Double, cpu: Double) {
            var cpu = 0.0
            let wall = seconds { cpu = cpuSeconds(body) }
            return (wall, cpu)
        }
        let adapters: [(name: String, adapter: ProjectionAdapter)] = variants.compactMap { name, config in
            guard let set = try? AdapterSet(config: config, seed: 2) else { return nil }
            let adapter = set.make(layer: 0, module: "q_proj", inFeatures: dim, outFeatures: dim)
            for p in adapter.parameters where p.name.contains("lora_B") { for i in 0..<p.value.count { p.value[i] = 0.01 } }
            return (name, adapter)
        }
        func run(_ adapter: ProjectionAdapter) {
            adapter.forward(x: x.pointer, y: y.pointer, tokens: tokens, mode: .training(seed: 1))
            adapter.backward(x: x.pointer, dy: dy.pointer, dx: dx.pointer, tokens: tokens)
        }
        base()
        for a in adapters { run(a.adapter) }
        // Round-robin over the variants, so on a shared machine every variant sees the same
        // mix of quiet and busy moments; medians per variant.
        var baseTimes: [(wall: Double, cpu: Double)] = []
        var adapterTimes = [[(wall: Double, cpu: Double)]](repeating: [], count: adapters.count)
        var layerTimes = adapterTimes
        for _ in 0..<repeats {
            baseTimes.append(timed(base))
            for (i, a) in adapters.enumerated() {
                adapterTimes[i].append(timed { run(a.adapter) })
                layerTimes[i].append(timed { base(); run(a.adapter) })
            }
        }
        let baseTime = median(baseTimes.map(\.wall)), baseCPU = median(baseTimes.map(\.cpu))
        var results: [LayerResult] = []
        for (i, a) in adapters.enumerated() {
            results.append(LayerResult(variant: a.name, layerSeconds: median(layerTimes[i].map(\.wall)),
                                       adapterSeconds: median(adapterTimes[i].map(\.wall)),
                                       layerCPUSeconds: median(layerTimes[i].map(\.cpu)),
                                       adapterCPUSeconds: median(adapterTimes[i].map(\.cpu)),
                                       expertRows: (a.adapter as? SiraAdapter)?.rowsComputed))
        }
        return (baseTime, baseCPU, results)
    }

    // MARK: - whole training steps

    struct StepResult: Codable {
        var model: String
        var variant: String
        var tokensPerStep: Int
        /// Median seconds per optimizer step.
        var stepSeconds: Double
        var tokensPerSecond: Double
        /// Model FLOPs per step (see `modelFLOPs`).
        var flopsPerStep: Double
        var peakRSSBytes: Int
        var trainableParameters: Int
    }

    /// Model FLOPs of one adapter-training step on a frozen base, per the usual accounting of
    /// useful work: every base projection and `lm_head` run forward (2·in·out per token) and
    /// backward for the input gradient only (another 2·in·out; frozen weights need no weight
    /// gradient); causal attention `2·2·d·(T+1)/2` per token and layer forward, three times that in
    /// training; each active LoRA expert `6·r·(in+out)` per token (forward, both weight gradients,
    /// input gradient), the router `6·E·in`. SiRA counts its k active experts, MoLoRA all E.
    /// `lm_head` counts on the scored share of positions only: the work actually needed (the
    /// engine runs it on nothing else).
    static func modelFLOPs(_ shape: ModelShape, adapter: AdapterConfig, scored: Double = 1) -> Double {
        let c = shape.config
        let tokens = Double(shape.batch * shape.seq)
        let d = Double(c.hiddenSize), kv = Double(c.numKeyValueHeads * c.headDim), q = Double(c.numAttentionHeads * c.headDim)
        let inter = Double(c.intermediateSize)
        let dims: [String: (Double, Double)] = [
            "q_proj": (d, q), "k_proj": (d, kv), "v_proj": (d, kv), "o_proj": (q, d),
            "gate_proj": (d, inter), "up_proj": (d, inter), "down_proj": (inter, d),
        ]
        var perToken = 0.0
        for (_, (i, o)) in dims { perToken += 4 * i * o }
        perToken += 3 * 2 * q * Double(shape.seq + 1)
        for module in adapter.targetModules {
            guard let (i, o) = dims[module] else { continue }
            let r = Double(adapter.r), e = Double(adapter.numExperts)
            switch adapter.type {
            case .lora: perToken += 6 * r * (i + o)
            case .molora: perToken += e * 6 * r * (i + o) + 6 * e * i
            case .sira: perToken += Double(adapter.topK) * 6 * r * (i + o) + 6 * e * i
            }
        }
        let head = 4 * d * Double(c.vocabSize)
        return tokens * (perToken * Double(c.numHiddenLayers) + head * scored)
    }

    /// Scored positions per row for a `scored` share (at least one).
    static func scoredRows(_ shape: ModelShape, _ scored: Double) -> Int { max(1, Int((Double(shape.seq) * scored).rounded())) }

    /// Random-token batches; the cursor is the batch index. `scored`: the share of each row's
    /// positions the loss scores, at its end (1: language modelling; 0.25: a prompt of 3/4 of the
    /// row and a completion of 1/4, as adapter data is).
    final class RandomBatches: BatchSource {
        struct Cursor: Codable, Equatable { var index: Int }
        let batch: Int, seq: Int, vocab: Int
        let mask: [Float]
        var index = 0
        init(batch: Int, seq: Int, vocab: Int, scored: Double = 1) {
            self.batch = batch; self.seq = seq; self.vocab = vocab
            let promptLength = seq - max(1, Int((Double(seq) * scored).rounded()))
            let row = (0..<seq).map { $0 < promptLength ? Float(0) : 1 }
            mask = Array((0..<batch).map { _ in row }.joined())
        }
        func nextBatch() throws -> TokenBatch {
            var rng = Xoshiro256(seed: UInt64(index))
            index += 1
            let ids = (0...(batch * seq)).map { _ in Int32(rng.next() % UInt64(vocab)) }
            return TokenBatch(batch: batch, seq: seq, tokens: Array(ids.prefix(batch * seq)), targets: Array(ids.dropFirst()),
                              lossMask: mask)
        }
        var cursor: Cursor { Cursor(index: index) }
        func restore(_ cursor: Cursor) throws { index = cursor.index }
    }

    /// Builds the random-weight model, attaches the adapter, runs one warm-up step and `steps`
    /// timed optimizer steps. Meant to run alone in a process, so the peak RSS is this case's.
    static func step(shape: ModelShape, variant: String, adapter: AdapterConfig, steps: Int, threads: Int,
                     scored: Double = 1) throws -> StepResult {
        let model = LlamaModel(config: shape.config, seed: 1)
        model.threads = threads
        model.setTrainable(false)
        let set = try AdapterSet(config: adapter, seed: 2)
        set.attach(to: model)
        let trainer = try Trainer(model: model, source: RandomBatches(batch: shape.batch, seq: shape.seq, vocab: shape.config.vocabSize, scored: scored),
                                  config: TrainerConfig(steps: steps + 1, learningRate: 1e-4, seed: 0))
        _ = try trainer.trainStep()
        var times: [Double] = []
        for _ in 0..<steps { times.append(try trainer.trainStep().seconds) }
        let median = times.sorted()[times.count / 2]
        let tokens = shape.batch * shape.seq
        return StepResult(model: shape.name, variant: variant, tokensPerStep: tokens, stepSeconds: median,
                          tokensPerSecond: Double(tokens) / median, flopsPerStep: modelFLOPs(shape, adapter: adapter, scored: Double(scoredRows(shape, scored)) / Double(shape.seq)),
                          peakRSSBytes: peakRSS(), trainableParameters: set.parameters.reduce(0) { $0 + $1.value.count })
    }
}
