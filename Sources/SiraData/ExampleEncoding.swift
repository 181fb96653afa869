import Foundation

/// An example as the trainer sees it: token ids and, per token, whether the loss scores it.
public struct TokenizedExample: Sendable, Equatable {
    public var tokens: [Int32]
    /// 1 where the token is a target the loss scores (completion and eos), 0 elsewhere (bos,
    /// prompt). mask[i] refers to predicting tokens[i] from the tokens before it.
    public var mask: [UInt8]

    public init(tokens: [Int32], mask: [UInt8]) {
        self.tokens = tokens
        self.mask = mask
    }

    /// Index of the first scored token (tokens.count if none): for a prompt/completion example,
    /// 1 + the prompt's length.
    public var scoredFrom: Int { mask.firstIndex(of: 1) ?? mask.count }
}

extension BPETokenizer {
    /// `[bos] + prompt + completion + [end]`, prompt and completion encoded separately (so the
    /// boundary is exact), with bos and prompt masked out and completion and end scored. The start
    /// token only when the model's rules add one (`SpecialTokenRules.prefix`); the end token
    /// (the model's, e.g. `<|im_end|>` for an instruct model) unless the completion already ends
    /// with one (`SpecialTokenRules.completionEnd`).
    public func encode(_ example: Example) -> TokenizedExample {
        pool.withState { state in
            var tokens: [Int32] = []
            tokens.reserveCapacity(example.byteCount / 3 + 8)
            if bosID >= 0 { tokens.append(Int32(bosID)) }
            encode(example.prompt, into: &tokens, state: state)
            let promptEnd = tokens.count
            encode(example.completion, into: &tokens, state: state)
            let last = tokens.count > promptEnd ? tokens.last : nil
            if let end = rules.completionEnd(last: last, isSpecial: { self.isSpecial[$0] }) { tokens.append(end) }
            var mask = [UInt8](repeating: 1, count: tokens.count)
            for i in 0 ..< promptEnd { mask[i] = 0 }
            return TokenizedExample(tokens: tokens, mask: mask)
        }
    }
}

extension BPETokenizer {
    /// Encodes many examples on `threads` threads; results in input order.
    public func encodeBatch(examples: [Example], threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [TokenizedExample] {
        var results = [TokenizedExample](repeating: TokenizedExample(tokens: [], mask: []), count: examples.count)
        let workers = max(1, min(threads, examples.count))
        results.withUnsafeMutableBufferPointer { buffer in
            let out = UnsafeSendable(buffer)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < examples.count {
                    out.value[i] = encode(examples[i])
                    i += workers
                }
            }
        }
        return results
    }
}
