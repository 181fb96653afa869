import Foundation
import SiraPipeline
import SiraData
import SiraIO
import SiraModel

/// `evaluate@task:variant` (and `evaluate@task:base`, the base without adapter): on the task's
/// eval split, the mean loss over completion tokens, its perplexity, the token accuracy (argmax
/// equals the target), and the exact match of greedy completions (generation after the prompt
/// until the end token, compared with the expected completion, surrounding white space ignored:
/// `ExactMatch`), and for SiRA adapters the routing on the eval split (`eval.router.*`, per layer).
/// Writes `predictions.jsonl`.
struct EvaluateStage: PipelineStage {
    let task: String
    /// nil: the base alone.
    let variant: String?
    let trained: StageID?
    let evaluate: EvaluateSpec

    var id: StageID { StageID(.evaluate, task: task, variant: variant ?? StageID.baseVariant) }

    var dependencies: [StageID] {
        [StageID(.tokenizer), StageID(.base), StageID(.ingest, task: task), StageID(.tokenize, task: task)] + (trained.map { [$0] } ?? [])
    }

    struct Parameters: Codable {
        var task: String
        var variant: String
        var evaluate: EvaluateSpec
    }

    func parameters() throws -> String {
        try CacheKey.canonicalJSON(Parameters(task: task, variant: variant ?? StageID.baseVariant, evaluate: evaluate))
    }

    func run(_ context: StageContext) throws -> StageResult {
        let tokenizer = try TokenizerFiles.load(try context.input(StageID(.tokenizer)))
        let model = try LlamaModel.load(model: try context.input(StageID(.base)).folder)
        model.threads = context.threads
        if let trained {
            let weights = try context.input(trained).url(TrainStage.weightsName)
            let adapters = try AdapterSet(config: try AdapterFiles.config(of: weights), seed: 0)
            adapters.attach(to: model)
            try AdapterFiles.load(into: adapters, from: weights)
        }
        let shard = try TokenizerFiles.shard(try context.input(StageID(.tokenize, task: task)), .eval)
        let (_, snapshot) = try SnapshotReference.load(try context.input(StageID(.ingest, task: task)), workspace: context.workspace)
        let texts = try snapshot.examples(.eval)
        guard shard.count == texts.count else {
            throw StageFailure("the eval shard holds \(shard.count) examples, the snapshot \(texts.count)")
        }
        let count = evaluate.maxExamples > 0 ? min(shard.count, evaluate.maxExamples) : shard.count
        guard count > 0 else {
            context.log("no evaluation examples")
            return StageResult(metrics: ["eval.examples": 0])
        }
        let total = (count + 15) / 16 + (evaluate.exactMatch ? count : 0)

        // Progress steps: one per block of 16 examples scored for the loss, then one per example
        // generated for exact match; the notes count examples, not steps.
        // Loss, perplexity and token accuracy over the completion tokens, one example per row.
        let measured = try EvalLoss.measure(model, shard: shard, count: count, padID: Int32(tokenizer.padID)) { done in
            try context.checkCancelled()
            context.progress(step: (done + 15) / 16, of: total, note: "loss: \(done)/\(count) examples scored")
        }
        let loss = measured.loss
        var metrics: [String: Double] = [
            "eval.examples": Double(count),
            "eval.loss": loss,
            "eval.perplexity": exp(loss),
            "eval.token_accuracy": measured.tokenAccuracy,
        ]
        // SiRA routing on the eval split, per layer and in total.
        if let routing = measured.router.total {
            for (key, value) in measured.router.metrics(prefix: RouterMetricKey.evaluation) { metrics[key] = value }
            metrics[RouterMetricKey.droppedFraction(RouterMetricKey.evaluation)] = routing.droppedFraction
            metrics[RouterMetricKey.entropy(RouterMetricKey.evaluation)] = routing.meanEntropy
        }

        // Exact match of greedy completions.
        var lines: [UInt8] = []
        if evaluate.exactMatch {
            let predictions = try ExactMatch.measure(
                model, shard: shard, expected: texts.prefix(count).map(\.completion), maxNewTokens: evaluate.maxNewTokens,
                stop: Set(tokenizer.rules.addingStops(model.config.eosTokenIds).stopIDs), decode: { tokenizer.decode($0, skipSpecialTokens: true) }
            ) { i, matches in
                try context.checkCancelled()
                context.progress(step: (count + 15) / 16 + i + 1, of: total, note: "exact match: \(matches) of \(i + 1) generated right (\(count) to generate)")
            }
            for (i, p) in predictions.enumerated() {
                lines += Array(Self.predictionLine(prompt: texts[i].prompt, expected: texts[i].completion, generated: p.generated, match: p.match).utf8)
            }
            metrics["eval.exact_match"] = ExactMatch.rate(predictions)
        }
        try AtomicFile.write(lines, to: context.outputFolder.appendingPathComponent("predictions.jsonl"))
        context.log(String(format: "loss %.4f ppl %.3f token acc %.4f exact match %@", loss, exp(loss),
                           metrics["eval.token_accuracy"]!, metrics["eval.exact_match"].map { String(format: "%.4f", $0) } ?? "-"))
        return StageResult(metrics: metrics)
    }

    static func predictionLine(prompt: String, expected: String, generated: String, match: Bool) -> String {
        let object: [String: Any] = ["prompt": prompt, "expected": expected, "generated": generated, "match": match]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
