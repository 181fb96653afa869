import Foundation
import Testing
@testable import SiraModel

@Suite struct TrainerTests {
    static let sira = AdapterConfig(type: .sira, r: 3, loraAlpha: 6, numExperts: 5, topK: 2, capacityFactor: 1.0,
                                    expertDropout: 0.2, auxLossWeight: 0.05, zLossWeight: 0.01)
    static let config = TrainerConfig(steps: 8, learningRate: 0.02, warmupSteps: 2, weightDecay: 0.01, maxGradNorm: 0.5,
                                      gradientAccumulation: 2, evaluateEvery: 5, checkpointEvery: 3, seed: 42)

    func makeTrainer(_ cfg: TrainerConfig = config, adapter: AdapterConfig = sira, url: URL? = nil, rows: Int = 11)
        throws -> Trainer<ToyAdapterModel, ToySource> {
        let model = try ToyAdapterModel(config: adapter, seed: 7, inF: 9, outF: 6)
        // B starts at zero; give it a nudge so every parameter moves from step 1.
        return try Trainer(model: model, source: ToySource(seed: 3, rows: rows, inF: 9, outF: 6), config: cfg, stateURL: url)
    }

    func snapshot(_ t: Trainer<ToyAdapterModel, ToySource>) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: t.model.trainableParameters.map { ($0.name, $0.value.array) })
    }

    @Test func resumedRunEqualsUninterruptedRun() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reference = try makeTrainer()
        let refReports = try reference.run()
        #expect(refReports.count == 8)
        #expect(refReports.allSatisfy { $0.router != nil && $0.router!.calls == 2 })

        // Clean stop after step 5 (state saved when run returns), then a fresh process resumes.
        let url = folder.appendingPathComponent("state.safetensors")
        _ = try makeTrainer(url: url).run(until: 5)
        let resumed = try makeTrainer(url: url)
        #expect(try resumed.resumeIfSaved())
        #expect(resumed.step == 5 && resumed.source.row == 5 * 2 * 11)
        let tail = try resumed.run()
        #expect(tail.map(\.step) == [6, 7, 8])
        let resumedMatches = snapshot(resumed) == snapshot(reference)
        #expect(resumedMatches, "resumed parameters differ from the uninterrupted run")
        #expect(tail.map(\.loss) == refReports.suffix(3).map(\.loss))

        // A crash at step 5 (the evaluation callback throws) leaves the step-3 checkpoint; the rerun
        // replays steps 4... and still ends identical.
        struct Crash: Error {}
        let url2 = folder.appendingPathComponent("crash.safetensors")
        let crashing = try makeTrainer(url: url2)
        crashing.onEvaluate = { step in if step == 5 { throw Crash() } }
        #expect(throws: Crash.self) { try crashing.run() }
        let rerun = try makeTrainer(url: url2)
        try rerun.resume(from: url2)
        #expect(rerun.step == 3)
        try rerun.run()
        let rerunMatches = snapshot(rerun) == snapshot(reference)
        #expect(rerunMatches, "parameters after the crash rerun differ from the uninterrupted run")
    }

    @Test func sameSeedSameRunOtherSeedOtherRun() throws {
        let a = try makeTrainer(), b = try makeTrainer()
        try a.run(); try b.run()
        let identical = snapshot(a) == snapshot(b)
        #expect(identical)
        var cfg = Self.config
        cfg.seed = 43
        let c = try makeTrainer(cfg)
        try c.run()
        let differs = snapshot(a) != snapshot(c)
        #expect(differs, "the seed drives expert dropout")
    }

    @Test func warmupThenCosine() {
        let cfg = TrainerConfig(steps: 20, learningRate: 1e-3, warmupSteps: 4, minLearningRateRatio: 0.1)
        #expect(abs(cfg.learningRate(at: 0) - 0.25e-3) < 1e-15)
        #expect(abs(cfg.learningRate(at: 3) - 1e-3) < 1e-15)
        #expect(abs(cfg.learningRate(at: 4) - 1e-3) < 1e-15)
        // Half way through the 15 decay intervals (step 4 + 7.5): lr_min + ½(lr − lr_min).
        let mid = 1e-4 + 0.5 * 0.9e-3 * (1 + cos(Double.pi * 7 / 15))
        #expect(abs(cfg.learningRate(at: 11) - mid) < 1e-15)
        #expect(abs(cfg.learningRate(at: 19) - 1e-4) < 1e-15)
    }

    @Test func accumulatingMicroBatchesEqualsOneLargeBatch() throws {
        let lora = AdapterConfig(type: .lora, r: 2, loraAlpha: 4)
        var cfg = TrainerConfig(steps: 3, learningRate: 0.01, maxGradNorm: nil, gradientAccumulation: 2, seed: 1)
        let micro = try makeTrainer(cfg, adapter: lora, rows: 8)
        cfg.gradientAccumulation = 1
        let whole = try makeTrainer(cfg, adapter: lora, rows: 16)
        let r1 = try micro.run(), r2 = try whole.run()
        for (name, values) in snapshot(micro) {
            let other = snapshot(whole)[name]!
            for i in values.indices { #expect(abs(values[i] - other[i]) < 1e-6, "\(name)[\(i)]") }
        }
        for (a, b) in zip(r1, r2) { #expect(abs(a.loss - b.loss) < 1e-6 && abs(a.gradNorm - b.gradNorm) < 1e-6) }
    }

    @Test func firstAdamWStepIsSignStepWithDecayOnMatricesOnly() throws {
        let model = QuadraticModel()
        let before = model.matrix.value.array + model.vector.value.array
        let cfg = TrainerConfig(steps: 1, learningRate: 0.1, weightDecay: 0.5, epsilon: 1e-8, maxGradNorm: nil)
        let trainer = try Trainer(model: model, source: ToySource(seed: 0, rows: 1, inF: 1, outF: 1), config: cfg)
        let report = try trainer.trainStep()
        let after = model.matrix.value.array + model.vector.value.array
        var norm = 0.0
        for i in before.indices {
            let g = Double(before[i] - model.target[i])
            norm += g * g
            // Bias-corrected first step: m̂ = g, v̂ = g², update = g / (|g| + eps).
            let decay = i < 6 ? 0.5 * Double(before[i]) : 0
            let expected = Double(before[i]) - 0.1 * (g / (abs(g) + 1e-8) + decay)
            #expect(abs(Double(after[i]) - expected) < 1e-6, "parameter \(i)")
        }
        #expect(abs(report.gradNorm - norm.squareRoot()) < 1e-5)
        #expect(model.matrix.grad!.array.allSatisfy { $0 == 0 }, "gradients are zeroed after the step")
    }

    @Test func clippingScalesTheGradientToTheMaxNorm() throws {
        // Adam is scale-invariant except through epsilon: with eps comparable to the clipped
        // gradient, the first step g_c / (|g_c| + eps) shows the clipping factor.
        let model = QuadraticModel()
        let before = model.matrix.value.array + model.vector.value.array
        let maxNorm = 1e-3, eps = 1e-4
        let cfg = TrainerConfig(steps: 1, learningRate: 0.1, epsilon: eps, maxGradNorm: maxNorm)
        let trainer = try Trainer(model: model, source: ToySource(seed: 0, rows: 1, inF: 1, outF: 1), config: cfg)
        let report = try trainer.trainStep()
        let g = before.indices.map { Double(before[$0] - model.target[$0]) }
        let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(report.gradNorm - norm) < 1e-4, "the norm is reported before clipping")
        let coef = maxNorm / (norm + 1e-6)
        let after = model.matrix.value.array + model.vector.value.array
        for i in g.indices {
            let gc = g[i] * coef
            let expected = Double(before[i]) - 0.1 * gc / (abs(gc) + eps)
            #expect(abs(Double(after[i]) - expected) < 1e-4, "parameter \(i)")
        }
    }

    @Test func evaluationCallbackAndStepReports() throws {
        var cfg = Self.config
        cfg.checkpointEvery = 0
        let trainer = try makeTrainer(cfg)
        var evaluated: [Int] = [], reported: [Int] = []
        trainer.onEvaluate = { evaluated.append($0) }
        trainer.onStep = { reported.append($0.step) }
        let reports = try trainer.run()
        #expect(evaluated == [5, 8])
        #expect(reported == Array(1...8))
        let r = try #require(reports.last?.router)
        #expect(r.assignments == 2 * 11 * 2 && r.tokens == 22)
        #expect(reports.allSatisfy { $0.auxiliaryLoss > 0 && $0.tokens == 22 })
        #expect(reports.first!.loss > reports.last!.loss, "the toy regression learns")
    }

    @Test func badStateFilesAreRejectedWithTheirPath() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("state.safetensors")
        let trainer = try makeTrainer(url: url)
        try trainer.run(until: 2)
        let good = try Data(contentsOf: url)
        let before = snapshot(trainer)

        try good.prefix(good.count - 10).write(to: url)
        let fresh = try makeTrainer(url: url)
        let initial = snapshot(fresh)
        #expect { try fresh.resume(from: url) } throws: { "\($0)".contains(url.path) }
        let unchanged = snapshot(fresh) == initial
        #expect(unchanged && fresh.step == 0, "a failed resume changes nothing")

        try good.write(to: url)
        var cfg = Self.config
        cfg.learningRate = 0.03
        let other = try makeTrainer(cfg, url: url)
        #expect { try other.resume(from: url) } throws: { "\($0)".contains("different training config") }
        var cadence = Self.config
        cadence.checkpointEvery = 7
        cadence.evaluateEvery = 1
        let sameTrajectory = try makeTrainer(cadence, url: url)
        try sameTrajectory.resume(from: url)
        #expect(sameTrajectory.step == 2, "evaluation and save cadence may change on resume")

        let lora = try makeTrainer(adapter: AdapterConfig(type: .lora, r: 3, loraAlpha: 6), url: url)
        #expect { try lora.resume(from: url) } throws: { "\($0)".contains("missing tensor") }
        #expect(before.count > 0)
    }

    @Test func stateFileOpensWithPythonSafetensors() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("state.safetensors")
        let trainer = try makeTrainer(url: url)
        try trainer.run(until: 2)
        let router = trainer.model.adapterSet.siraLayers[0].router
        let script = """
        import sys, json
        from safetensors import safe_open
        with safe_open(sys.argv[1], framework="numpy") as f:
            meta = f.metadata()
            t = f.get_tensor(sys.argv[2])
            print(json.dumps({"step": meta["step"], "shape": list(t.shape), "first": float(t.flat[0]), "keys": len(list(f.keys()))}))
        """
        let out = try runPython(script, arguments: [url.path, router.name])
        let result = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(result["step"] as? String == "2")
        #expect(result["shape"] as? [Int] == router.shape)
        #expect(result["first"] as? Double == Double(router.value[0]))
        #expect(result["keys"] as? Int == 3 * trainer.model.trainableParameters.count)
    }
}

/// Runs `python3 -c script args...` and returns stdout; fails clearly when python3 is missing.
func runPython(_ script: String, arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw PythonError(message: "python3 failed (\(process.terminationStatus)): \(String(decoding: errData, as: UTF8.self))")
    }
    return String(decoding: data, as: UTF8.self)
}

struct PythonError: Error, CustomStringConvertible { var message: String; var description: String { message } }

/// Produces a NaN gradient on its `poisonAt`-th call.
final class PoisonedModel: TrainableModel {
    let inner = QuadraticModel()
    var calls = 0
    let poisonAt: Int
    init(poisonAt: Int) { self.poisonAt = poisonAt }
    var trainableParameters: [Parameter] { inner.trainableParameters }
    func trainMicroBatch(_ batch: ToyBatch, mode: AdapterMode) -> MicroBatchLoss {
        calls += 1
        var result = inner.trainMicroBatch(batch, mode: mode)
        if calls == poisonAt { inner.vector.grad![1] = .nan; result.loss = .nan }
        return result
    }
}

@Suite struct TrainerNonFiniteTests {
    @Test func aNaNStepIsRefusedAndTheSavedStateStaysGood() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("state.safetensors")
        let model = PoisonedModel(poisonAt: 3)
        let cfg = TrainerConfig(steps: 5, learningRate: 0.1, checkpointEvery: 1)
        let trainer = try Trainer(model: model, source: ToySource(seed: 0, rows: 1, inF: 1, outF: 1), config: cfg, stateURL: url)
        let before = trainer.model.trainableParameters.map(\.value.array)
        _ = before
        try trainer.run(until: 2)
        let afterTwo = trainer.model.trainableParameters.map(\.value.array)
        #expect { try trainer.run() } throws: { error in
            guard case let TrainerError.nonFinite(step, _, _) = error else { return false }
            return step == 3
        }
        #expect(trainer.step == 2 && trainer.source.row == 2, "step and data cursor are rewound")
        #expect(trainer.model.trainableParameters.map(\.value.array) == afterTwo, "the poisoned step changed nothing")
        let resumed = try Trainer(model: PoisonedModel(poisonAt: 0), source: ToySource(seed: 0, rows: 1, inF: 1, outF: 1),
                                  config: cfg, stateURL: url)
        #expect(try resumed.resumeIfSaved() && resumed.step == 2)
        #expect(resumed.model.trainableParameters.map(\.value.array) == afterTwo)
    }
}
