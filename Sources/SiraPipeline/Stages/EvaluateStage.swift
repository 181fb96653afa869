import Foundation
import SiraData
import SiraIO
import SiraModel

/// `evaluate@task:variant` (and `evaluate@task:base`, the base without adapter): on the task's
/// eval split, the mean loss over completion tokens, its perplexity, the token accuracy (argmax
/// equals the target), and the exact match of greedy completions (generation after the prompt
/// until the end token, compared with the expected completion). Writes `predictions.jsonl`.
struct EvaluateStage: PipelineStage {
    let task: String
    /// nil: the base alone.
    let variant: String?
    let trained: StageID?
    let evaluate: EvaluateSpec

    var id: StageID { StageID(.evaluate, task: task, variant: variant ?? StageID.baseVariant) }

    var dependencies: [StageID] {
        [StageID(.tokenizer), StageID(.base), StageID(.ingest, task: task)] + (trained.map { [$0] } ?? [])
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
        if let trained { try AdapterFiles.attach(from: try context.input(trained).folder, to: model) }
        let (_, snapshot) = try SnapshotReference.load(try context.input(StageID(.ingest, task: task)), workspace: context.workspace)
        var examples = try snapshot.examples(.eval)
        if evaluate.maxExamples > 0, examples.count > evaluate.maxExamples { examples = Array(examples.prefix(evaluate.maxExamples)) }
        guard !examples.isEmpty else {
            context.log("no evaluation examples")
            return StageResult(metrics: ["eval.examples": 0])
        }
        let encoder = ExampleEncoder(tokenizer: tokenizer)
        let encoded = examples.map(encoder.encode)
        let maxLength = model.config.maxPositionEmbeddings - 1

        // Loss, perplexity and token accuracy over the completion tokens.
        var nll = 0.0, scored = 0, correct = 0
        let batches = EvaluationBatches.make(encoded, rows: 16, maxLength: maxLength, pad: Int32(tokenizer.pad))
        for (i, batch) in batches.enumerated() {
            try context.checkCancelled()
            let r = model.loss(batch, mode: .evaluation)
            nll += r.nllSum
            scored += r.tokens
            correct += r.correct
            context.progress(step: i + 1, of: batches.count + (evaluate.exactMatch ? examples.count : 0), note: "loss")
        }
        let loss = scored > 0 ? nll / Double(scored) : .nan
        var metrics: [String: Double] = [
            "eval.examples": Double(examples.count),
            "eval.loss": loss,
            "eval.perplexity": exp(loss),
            "eval.token_accuracy": scored > 0 ? Double(correct) / Double(scored) : 0,
        ]

        // Exact match of greedy completions.
        var lines: [UInt8] = []
        if evaluate.exactMatch {
            var matches = 0
            for (i, e) in examples.enumerated() {
                try context.checkCancelled()
                let prompt = encoder.promptTokens(e.prompt)
                let room = model.config.maxPositionEmbeddings - prompt.count
                let produced = room > 0 ? model.generate(prompt: prompt, maxTokens: min(evaluate.maxNewTokens, room), stop: [tokenizer.eos]) : []
                let text = tokenizer.text(of: produced)
                let match = Self.normalized(text) == Self.normalized(e.completion)
                if match { matches += 1 }
                lines += Array(Self.predictionLine(prompt: e.prompt, expected: e.completion, generated: text, match: match).utf8)
                context.progress(step: batches.count + i + 1, of: batches.count + examples.count, note: "exact match \(matches)/\(i + 1)")
            }
            metrics["eval.exact_match"] = Double(matches) / Double(examples.count)
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
