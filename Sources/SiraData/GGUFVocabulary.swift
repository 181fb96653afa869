import Foundation
import SiraIO

extension BPETokenizer {
    /// The tokenizer a GGUF file carries (`tokenizer.ggml.*`): a byte-level BPE (`model: gpt2`)
    /// with its tokens, token types, merges, special ids and `add_bos_token`, and the
    /// pre-tokenizer llama.cpp names in `tokenizer.ggml.pre`:
    ///
    /// | pre | split |
    /// |---|---|
    /// | `llama-bpe`, `llama3`, `llama-v3` | Llama-3 regex (numbers in runs of ≤ 3) |
    /// | `qwen2` | Llama-3 regex with single digits |
    /// | `smollm`, `starcoder`, `refact` | each digit alone, then GPT-2's regex |
    /// | `gpt2`, `gpt-2`, `default` or absent | GPT-2's regex |
    ///
    /// Control tokens (type 3) become special added tokens and user-defined ones (type 4) plain
    /// added tokens, as the `tokenizers` library treats them. A SentencePiece vocabulary
    /// (`model: llama`) or another pre-tokenizer is refused with the reason.
    public convenience init(gguf file: GGUFFile) throws {
        let path = file.url.path
        func bad(_ key: String, _ why: String) -> GGUFError { GGUFError(path, "metadata \(key): \(why)") }
        guard let model = file["tokenizer.ggml.model"]?.string else { throw bad("tokenizer.ggml.model", "missing (the file carries no tokenizer)") }
        guard model == "gpt2" else {
            throw bad("tokenizer.ggml.model", model == "llama"
                ? "a SentencePiece vocabulary ('llama') is not supported; this engine reads byte-level BPE ('gpt2') vocabularies (Llama-3, Qwen, SmolLM, Mistral-Nemo)"
                : "'\(model)' is not supported (byte-level BPE 'gpt2' is)")
        }
        guard let strings = file["tokenizer.ggml.tokens"]?.array else { throw bad("tokenizer.ggml.tokens", "missing") }
        let types = file["tokenizer.ggml.token_type"]?.array
        if let types, types.count != strings.count {
            throw bad("tokenizer.ggml.token_type", "\(types.count) types for \(strings.count) tokens")
        }
        let pre: PreTokenizer
        switch file["tokenizer.ggml.pre"]?.string ?? "default" {
        case "llama-bpe", "llama3", "llama-v3": pre = PreTokenizer(steps: [.llama3(maxDigits: 3)])
        case "qwen2": pre = PreTokenizer(steps: [.llama3(maxDigits: 1)])
        case "smollm", "starcoder", "refact": pre = PreTokenizer(steps: [.digits(individual: true), .gpt2])
        case "gpt2", "gpt-2", "default": pre = PreTokenizer(steps: [.gpt2])
        case let other: throw bad("tokenizer.ggml.pre", "pre-tokenizer '\(other)' is not supported (llama-bpe, qwen2, smollm, gpt2 and default are)")
        }
        var tokens = [[UInt8]](repeating: [], count: strings.count)
        var inModel = [Bool](repeating: false, count: strings.count)
        var verbatim: [Int32: String] = [:]
        var added: [AddedToken] = []
        var idOf: [String: Int32] = [:]
        idOf.reserveCapacity(strings.count)
        for (id, value) in strings.enumerated() {
            guard let s = value.string else { throw bad("tokenizer.ggml.tokens", "token \(id) is not a string") }
            let type = types?[id].int ?? 1
            if type == 3 || type == 4 {
                added.append(AddedToken(id: id, content: s, special: type == 3))
                continue
            }
            if let bytes = ByteLevelAlphabet.decode(s) {
                tokens[id] = bytes
            } else {
                tokens[id] = Array(s.utf8)
                verbatim[Int32(id)] = s
            }
            inModel[id] = true
            if idOf[s] == nil { idOf[s] = Int32(id) }
        }
        var merges: [Triple] = []
        let mergeValues = file["tokenizer.ggml.merges"]?.array ?? []
        merges.reserveCapacity(mergeValues.count)
        for (i, value) in mergeValues.enumerated() {
            guard let s = value.string else { throw bad("tokenizer.ggml.merges", "merge \(i) is not a string") }
            let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let l = idOf[String(parts[0])], let r = idOf[String(parts[1])],
                  let m = idOf[String(parts[0]) + String(parts[1])]
            else { throw bad("tokenizer.ggml.merges", "merge \(i) \"\(s)\" does not name two tokens whose join is a token") }
            merges.append(Triple(left: l, right: r, merged: m))
        }
        func id(_ key: String) throws -> Int? {
            guard let v = file[key] else { return nil }
            guard let n = v.int, n >= 0, n < strings.count else { throw bad(key, "\(v) is not a token id") }
            return n
        }
        var parts = Parts(tokens: tokens, inModelVocab: inModel, verbatimStrings: verbatim, merges: merges, added: added,
                          preTokenizer: pre)
        let bos = try id("tokenizer.ggml.bos_token_id"), eos = try id("tokenizer.ggml.eos_token_id")
        parts.rules = SpecialTokenRules(
            bosID: bos, addBOS: (file["tokenizer.ggml.add_bos_token"]?.bool ?? false) && bos != nil,
            eosID: eos, addEOS: (file["tokenizer.ggml.add_eos_token"]?.bool ?? false) && eos != nil,
            stopIDs: [eos, try id("tokenizer.ggml.eot_token_id")].compactMap { $0 },
            padID: try id("tokenizer.ggml.padding_token_id"))
        self.init(parts)
    }
}
