import Foundation
import SiraData
import SiraIO
import SiraModel

/// `evaluate@task:variant` (and `evaluate@task:base`, the base without adapter): on the task's
/// eval split, the mean loss over completion tokens, its perplexity, the token accuracy (argmax
/// equals the target), and the exact match of greedy completions (generation after the prompt
/// until the end token, compared with the expected completion, surrounding white space ignored).
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
        let model = try LlamaModel.load(huggingFaceFolder: try context.input(StageID(.base)).folder)
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

        // Loss, perplexity and token accuracy over the completion tokens, one example per row.
        let longest = (0 ..< count).map { shard.length(of: $0) }.max()!
        let seq = max(1, min(longest - 1, model.config.maxPositionEmbeddings))
        var nll = 0.0, scored = 0, correct = 0, done = 0
        for b in ShardBatcher.evaluationBatches(shard, batch: 16, seq: seq, padID: Int32(tokenizer.padID)) {
            guard done < count else { break }
            try context.checkCancelled()
            let rows = min(b.batch, count - done)
            let batch = TokenBatch(batch: rows, seq: b.seq, tokens: Array(b.tokens.prefix(rows * b.seq)),
                                   targets: Array(b.targets.prefix(rows * b.seq)), lossMask: Array(b.lossMask.prefix(rows * b.seq)))
            let r = model.loss(batch, mode: .evaluation)
            nll += r.nllSum
            scored += r.tokens
            correct += r.correct
            done += rows
            context.progress(step: (done + 15) / 16, of: total, note: "loss")
        }
        let loss = scored > 0 ? nll / Double(scored) : .nan
        var metrics: [String: Double] = [
            "eval.examples": Double(count),
            "eval.loss": loss,
            "eval.perplexity": exp(loss),
            "eval.token_accuracy": scored > 0 ? Double(correct) / Double(scored) : 0,
        ]

        // Exact match of greedy completions.
        var lines: [UInt8] = []
        if evaluate.exactMatch {
            var matches = 0
            let stop: Set<Int> = tokenizer.eosID >= 0 ? [tokenizer.eosID] : []
            for i in 0 ..< count {
                try context.checkCancelled()
                let example = shard[i]
                let prompt = example.tokens.prefix(example.scoredFrom).map { Int($0) }
                let room = model.config.maxPositionEmbeddings - prompt.count
                let produced = prompt.isEmpty || room <= 0 ? []
                    : model.generate(prompt: prompt, maxTokens: min(evaluate.maxNewTokens, room), stop: stop)
                let text = tokenizer.decode(produced, skipSpecialTokens: true)
                let expected = texts[i].completion
                let match = Self.normalized(text) == Self.normalized(expected)
                if match { matches += 1 }
                lines += Array(Self.predictionLine(prompt: texts[i].prompt, expected: expected, generated: text, match: match).utf8)
                context.progress(step: (count + 15) / 16 + i + 1, of: total, note: "exact match \(matches)/\(i + 1)")
            }
            metrics["eval.exact_match"] = Double(matches) / Double(count)
        }
        try AtomicFile.write(lines, to: context.outputFolder.appendingPathComponent("predictions.jsonl"))
        context.log(String(format: "loss %.4f ppl %.3f token acc %.4f exact match %@", loss, exp(loss),
                           metrics["eval.token_accuracy"]!, metrics["eval.exact_match"].map { String(format: "%.4f", $0) } ?? "-"))
        return StageResult(metrics: metrics)
    }

    /// Exact match ignores leading and trailing white space only.
    static func normalized(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    static func predictionLine(prompt: String, expected: String, generated: String, match: Bool) -> String {
        let object: [String: Any] = ["prompt": prompt, "expected": expected, "generated": generated, "match": match]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
