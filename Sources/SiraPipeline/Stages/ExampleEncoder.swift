import SiraData

/// What the stages need from a tokenizer (SiraData's BPE tokenizer provides it).
protocol StageTokenizer: Sendable {
    var vocabularySize: Int { get }
    var bos: Int { get }
    var eos: Int { get }
    var pad: Int { get }
    func encode(_ text: String) -> [Int]
    /// Text of generated ids, special tokens dropped.
    func text(of ids: [Int]) -> String
}

/// How an example becomes tokens everywhere in the pipeline (training, evaluation, generation):
/// `[bos] + encode(prompt) + encode(completion) + [eos]`, prompt and completion encoded apart so
/// the completion's tokens are exactly what greedy generation after the prompt must produce.
struct ExampleEncoder {
    let tokenizer: any StageTokenizer

    func encode(_ e: Example) -> EncodedExample {
        let prompt = promptTokens(e.prompt)
        let completion = tokenizer.encode(e.completion)
        return EncodedExample(tokens: (prompt + completion + [tokenizer.eos]).map { Int32($0) }, scoredFrom: prompt.count)
    }

    /// What generation starts from.
    func promptTokens(_ prompt: String) -> [Int] {
        [tokenizer.bos] + (prompt.isEmpty ? [] : tokenizer.encode(prompt))
    }
}
