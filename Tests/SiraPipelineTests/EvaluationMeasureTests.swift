import Foundation
import SiraData
import SiraModel
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// The evaluate stage's numbers on a tiny model, against independent references: the loss and
/// token accuracy recomputed in Double from per-example logits (no padding, no batching), exact
/// match against a naive greedy decoder (full forward per token, no KV cache), and SiRA routing
/// statistics that add up.
@Suite struct EvaluationMeasureTests {
    /// 1 layer, hidden 20, 5 query heads of 4 sharing 1 KV head, vocab 29, context 16.
    func tinyModel(seed: UInt64 = 3) -> LlamaModel {
        let config = LlamaConfig(hiddenSize: 20, intermediateSize: 36, numHiddenLayers: 1, numAttentionHeads: 5,
                                 numKeyValueHeads: 1, vocabSize: 29, tieWordEmbeddings: false, maxPositionEmbeddings: 16)
        let model = LlamaModel(config: config, seed: seed)
        model.setTrainable(false)
        model.threads = 1
        return model
    }

    /// Examples of awkward lengths (prompt, completion): 1 + 6, 3 + 1, 2 + 4, 4 + 0 (nothing to
    /// score), 5 + 2, 1 + 1, then 20 more so that a second batch of 16 rows is needed.
    static let examples: [([Int32], [Int32])] = {
        var out: [([Int32], [Int32])] = [([3], [7, 1, 28, 5, 5, 9]), ([4, 11, 2], [6]), ([8, 8], [1, 2, 3, 4]), ([9, 10, 11, 12], []),
                                          ([13, 1, 0, 2, 27], [19, 20]), ([21], [22])]
        for i in 0 ..< 20 { out.append(([Int32(i % 29), Int32((i * 7) % 29)], [Int32((i * 3 + 1) % 29), Int32((i * 5 + 2) % 29)])) }
        return out
    }()

    func shard(_ tw: TempWorkspace) throws -> TokenShard {
        let folder = tw.url.appendingPathComponent("eval")
        let writer = try TokenShardWriter(folder: folder, vocabSize: 29)
        for (p, c) in Self.examples {
            try writer.append(tokens: p + c, mask: [UInt8](repeating: 0, count: p.count) + [UInt8](repeating: 1, count: c.count))
        }
        _ = try writer.finish()
        return try TokenShard(folder)
    }

    /// Σ −log softmax(logits)[target] and the argmax hits over the completion tokens of the first
    /// `count` examples, each example alone through `model.logits`, in Double.
    func reference(_ model: LlamaModel, count: Int) -> (nll: Double, scored: Int, correct: Int) {
        var nll = 0.0, scored = 0, correct = 0
        let vocab = model.config.vocabSize
        for (p, c) in Self.examples.prefix(count) where !c.isEmpty {
            let tokens = p + c
            let logits = model.logits(tokens: tokens, batch: 1, seq: tokens.count).array
            for t in p.count ..< tokens.count {
                let row = logits[(t - 1) * vocab ..< t * vocab].map(Double.init)
                let m = row.max()!
                let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
                nll += lse - row[Int(tokens[t])]
                scored += 1
                if row.firstIndex(of: m)! == Int(tokens[t]) { correct += 1 }
            }
        }
        return (nll, scored, correct)
    }

    @Test func lossPerplexityAndTokenAccuracyMatchAPerExampleDoubleReference() throws {
        let tw = TempWorkspace()
        let shard = try shard(tw)
        let model = tinyModel()
        for count in [1, 7, Self.examples.count] {
            var batches = 0
            let r = try EvalLoss.measure(model, shard: shard, count: count, padID: 0) { _ in batches += 1 }
            let ref = reference(model, count: count)
            #expect(r.scored == ref.scored && r.correct == ref.correct, "count \(count)")
            #expect(abs(r.nllSum - ref.nll) <= 1e-4 * max(1, ref.nll), "count \(count): \(r.nllSum) vs \(ref.nll)")
            #expect(abs(r.loss - ref.nll / Double(ref.scored)) < 1e-5)
            #expect(batches == (count + 15) / 16)
        }
        // By hand: the first example alone scores its 6 completion tokens.
        #expect(try EvalLoss.measure(model, shard: shard, count: 1, padID: 0).scored == 6)
        // Nothing scored: nan loss, zero accuracy, not a crash.
        let none = try EvalLoss.measure(model, shard: shard, count: 0, padID: 0)
        #expect(none.loss.isNaN && none.tokenAccuracy == 0)
    }

    /// The naive greedy decoder: the whole sequence through the model for every new token, the
    /// first argmax of the last position, stopping at a stop token, `maxNew` tokens or the context.
    func naiveGreedy(_ model: LlamaModel, prompt: [Int32], maxNew: Int, stop: Set<Int>) -> [Int] {
        var seq = prompt, out: [Int] = []
        let vocab = model.config.vocabSize
        while out.count < maxNew, seq.count < model.config.maxPositionEmbeddings {
            let logits = model.logits(tokens: seq, batch: 1, seq: seq.count).array
            let last = Array(logits[(seq.count - 1) * vocab ..< seq.count * vocab])
            let next = last.firstIndex(of: last.max()!)!
            if stop.contains(next) { break }
            out.append(next)
            seq.append(Int32(next))
        }
        return out
    }

    @Test func exactMatchAgreesWithANaiveGreedyDecoder() throws {
        let tw = TempWorkspace()
        let shard = try shard(tw)
        let model = tinyModel(seed: 11)
        let decode = { (ids: [Int]) in String(ids.map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) }) }
        let count = 7
        // A stop token the model really produces: the first token greedy decoding gives after example 2.
        let stop: Set<Int> = [naiveGreedy(model, prompt: Self.examples[2].0, maxNew: 1, stop: []).first!]
        let greedy = (0 ..< count).map { naiveGreedy(model, prompt: Self.examples[$0].0, maxNew: 5, stop: stop) }
        // Examples 0, 2 and 5 expect what greedy decoding gives (with white space around, which
        // is ignored); the others expect something else: 3 of 7.
        var expected = (0 ..< count).map { "not " + decode(greedy[$0]) + "!" }
        for i in [0, 2, 5] { expected[i] = "  " + decode(greedy[i]) + "\n" }
        let predictions = try ExactMatch.measure(model, shard: shard, expected: expected, maxNewTokens: 5, stop: stop, decode: decode)
        #expect(predictions.map(\.generated) == greedy.map(decode))
        #expect(predictions.map(\.match) == [true, false, true, false, false, true, false])
        #expect(ExactMatch.rate(predictions) == 3.0 / 7.0)
        #expect(greedy[2].isEmpty) // stopped at once: an empty completion is compared too
    }

    /// Per-layer routing over the eval forwards: every (token, choice) of every adapted projection
    /// of the layer counted once, loads summing to 1, nothing dropped without an evaluation
    /// capacity, and drops bounded by the capacity when one is set.
    @Test func routerStatisticsPerLayerCountEveryAssignment() throws {
        let tw = TempWorkspace()
        let shard = try shard(tw)
        for evalCapacity in [nil, 0.5] as [Double?] {
            let model = tinyModel()
            let config = AdapterConfig(type: .sira, r: 2, loraAlpha: 4, targetModules: ["q_proj", "down_proj"], numExperts: 5, topK: 2,
                                       capacityFactor: 1.25, evalCapacityFactor: evalCapacity)
            let set = try AdapterSet(config: config, seed: 4)
            set.attach(to: model)
            let count = Self.examples.count
            let r = try EvalLoss.measure(model, shard: shard, count: count, padID: 0)
            let layer = try #require(r.router.layers[0])
            // Rows are padded to the longest example less one: 26 rows in 2 forwards (16 + 10),
            // 2 projections, top-2.
            let seq = Self.examples.map { $0.0.count + $0.1.count }.max()! - 1
            #expect(layer.tokens == 2 * count * seq)
            #expect(layer.assignments == 2 * 2 * count * seq)
            #expect(layer.calls == 2 * 2)
            #expect(abs(layer.load.reduce(0, +) - 1) < 1e-12)
            #expect(layer.meanEntropy > 0 && layer.meanEntropy <= log(5.0) + 1e-9)
            if let cf = evalCapacity {
                // Per call at most E·C = 5·ceil(0.5·2·T/5) assignments are granted.
                let granted = layer.granted.reduce(0, +)
                let t1 = 16 * seq, t2 = (count - 16) * seq
                let bound = 5 * Int((cf * 2 * Double(t1) / 5).rounded(.up)) + 5 * Int((cf * 2 * Double(t2) / 5).rounded(.up))
                #expect(granted <= 2 * bound && layer.dropped == layer.assignments - granted && layer.droppedFraction > 0.3)
            } else {
                #expect(layer.dropped == 0)
            }
            let metrics = r.router.metrics(prefix: RouterMetricKey.evaluation)
            #expect(metrics["eval.router.L0.load.e4"] == layer.load[4])
            #expect(RouterMetricKey.parse("eval.router.L0.load.e4", prefix: RouterMetricKey.evaluation) == .load(layer: 0, expert: 4))
            #expect(RouterMetricKey.parse("eval.router.L0.load.e4") == nil) // not a training key
            #expect(RouterMetricKey.parse("router.L3.entropy") == .entropy(layer: 3))
        }
    }
}

extension EvaluationMeasureTests {
    /// The loss sums in fixed blocks of rows: 1, 2 or 3 threads give the same bits, so a package
    /// evaluated on another machine reproduces the recorded metrics exactly.
    @Test func theLossDoesNotDependOnTheThreadCount() throws {
        let tw = TempWorkspace()
        let shard = try shard(tw)
        let model = tinyModel(seed: 5)
        var results: [EvalLoss.Result] = []
        for threads in [1, 2, 3] {
            model.threads = threads
            results.append(try EvalLoss.measure(model, shard: shard, count: Self.examples.count, padID: 0))
        }
        #expect(results[0].nllSum == results[1].nllSum && results[1].nllSum == results[2].nllSum)
        #expect(results[0].correct == results[2].correct)
    }
}
