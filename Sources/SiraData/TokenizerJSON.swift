import Foundation

/// Reading and writing the Hugging Face `tokenizer.json` format for byte-level BPE.
///
/// Written: `model` BPE with `vocab` (byte-level strings → ids) and `merges` as `[left, right]`
/// pairs in rank order; `added_tokens` for the special tokens; `pre_tokenizer` ByteLevel (GPT-2
/// regex) or a Sequence of Split/Digits steps and ByteLevel; `decoder` ByteLevel; no normalizer and
/// no post-processor (ids are those of `encode(text, add_special_tokens=False)`).
///
/// Read: the same, plus merges as "left right" strings, `ignore_merges`, `unk_token`, added tokens
/// with lstrip/rstrip, and Split pre-tokenizers whose regex is GPT-2's, Llama-3's or Qwen2's.
/// Anything that would make our ids differ from the library's (a normalizer, BPE dropout, word
/// prefixes/suffixes, byte fallback, another regex) is refused with the key that holds it.
extension BPETokenizer {
    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    // MARK: Export

    public func tokenizerJSON() -> JSONValue {
        var vocab: [JSONMember] = []
        vocab.reserveCapacity(vocabSize)
        for id in 0 ..< vocabSize where inModelVocab[id] {
            vocab.append(JSONMember(tokenString(Int32(id)), .number(Double(id))))
        }
        let merges: [JSONValue] = mergeList.map { .array([.string(tokenString($0.left)), .string(tokenString($0.right))]) }
        let added: [JSONValue] = addedTokens.map { t in
            .object([
                JSONMember("id", .number(Double(t.id))),
                JSONMember("content", .string(t.content)),
                JSONMember("single_word", .bool(false)),
                JSONMember("lstrip", .bool(t.lstrip)),
                JSONMember("rstrip", .bool(t.rstrip)),
                JSONMember("normalized", .bool(false)),
                JSONMember("special", .bool(t.special)),
            ])
        }
        return .object([
            JSONMember("version", .string("1.0")),
            JSONMember("truncation", .null),
            JSONMember("padding", .null),
            JSONMember("added_tokens", .array(added)),
            JSONMember("normalizer", .null),
            JSONMember("pre_tokenizer", Self.preTokenizerJSON(preTokenizer)),
            JSONMember("post_processor", postProcessorJSON()),
            JSONMember("decoder", Self.byteLevelJSON(addPrefixSpace: true, useRegex: true)),
            JSONMember("model", .object([
                JSONMember("type", .string("BPE")),
                JSONMember("dropout", .null),
                JSONMember("unk_token", unknownToken.map(JSONValue.string) ?? .null),
                JSONMember("continuing_subword_prefix", .null),
                JSONMember("end_of_word_suffix", .null),
                JSONMember("fuse_unk", .bool(false)),
                JSONMember("byte_fallback", .bool(false)),
                JSONMember("ignore_merges", .bool(ignoreMerges)),
                JSONMember("vocab", .object(vocab)),
                JSONMember("merges", .array(merges)),
            ])),
        ])
    }

    /// A model token as tokenizer.json writes it: its bytes through the byte-level alphabet.
    /// A TemplateProcessing that puts the start token before each text when `rules.addBOS`
    /// (what the `tokenizers` library then does too); null otherwise.
    func postProcessorJSON() -> JSONValue {
        guard rules.addBOS, let bos = rules.bosID, let name = addedTokens.first(where: { $0.id == bos })?.content else { return .null }
        func special(_ name: String) -> JSONValue { .object([JSONMember("SpecialToken", .object([JSONMember("id", .string(name)), JSONMember("type_id", .number(0))]))]) }
        let a: JSONValue = .object([JSONMember("Sequence", .object([JSONMember("id", .string("A")), JSONMember("type_id", .number(0))]))])
        let b: JSONValue = .object([JSONMember("Sequence", .object([JSONMember("id", .string("B")), JSONMember("type_id", .number(1))]))])
        let tokens: JSONValue = .object([JSONMember(name, .object([
            JSONMember("id", .string(name)), JSONMember("ids", .array([.number(Double(bos))])), JSONMember("tokens", .array([.string(name)])),
        ]))])
        return .object([
            JSONMember("type", .string("TemplateProcessing")),
            JSONMember("single", .array([special(name), a])),
            JSONMember("pair", .array([special(name), a, special(name), b])),
            JSONMember("special_tokens", tokens),
        ])
    }

    func tokenString(_ id: Int32) -> String {
        verbatimStrings[id] ?? ByteLevelAlphabet.encode(bytes(of: id))
    }

    static func byteLevelJSON(addPrefixSpace: Bool, useRegex: Bool) -> JSONValue {
        .object([
            JSONMember("type", .string("ByteLevel")),
            JSONMember("add_prefix_space", .bool(addPrefixSpace)),
            JSONMember("trim_offsets", .bool(true)),
            JSONMember("use_regex", .bool(useRegex)),
        ])
    }

    static func preTokenizerJSON(_ pre: PreTokenizer) -> JSONValue {
        let endsWithGPT2 = pre.steps.last == .gpt2
        let leading = endsWithGPT2 ? Array(pre.steps.dropLast()) : pre.steps
        let byteLevel = byteLevelJSON(addPrefixSpace: pre.addPrefixSpace, useRegex: endsWithGPT2)
        if leading.isEmpty { return byteLevel }
        var items: [JSONValue] = leading.map { step in
            switch step {
            case .gpt2:
                return split(gpt2Regex)
            case let .llama3(maxDigits):
                return split(maxDigits == 1 ? qwen2Regex : llama3Regex.replacingOccurrences(of: "{1,3}", with: "{1,\(maxDigits)}"))
            case let .digits(individual):
                return .object([JSONMember("type", .string("Digits")), JSONMember("individual_digits", .bool(individual))])
            }
        }
        items.append(byteLevel)
        return .object([JSONMember("type", .string("Sequence")), JSONMember("pretokenizers", .array(items))])
    }

    private static func split(_ regex: String) -> JSONValue {
        .object([
            JSONMember("type", .string("Split")),
            JSONMember("pattern", .object([JSONMember("Regex", .string(regex))])),
            JSONMember("behavior", .string("Isolated")),
            JSONMember("invert", .bool(false)),
        ])
    }

    // MARK: Import

    static func parts(fromJSON json: JSONValue) throws(TokenizerFileError) -> Parts {
        func bad(_ key: String, _ why: String) -> TokenizerFileError { .badKey(nil, key, why) }
        guard case .object = json else { throw bad("(root)", "expected an object") }
        if let normalizer = json["normalizer"], !normalizer.isNull {
            throw bad("normalizer", "normalizer \"\(normalizer["type"]?.stringValue ?? normalizer.kindName)\" is not supported (byte-level BPE tokenizers have none)")
        }
        guard let model = json["model"], case .object = model else { throw bad("model", "missing") }
        if let type = model["type"]?.stringValue, type != "BPE" { throw bad("model.type", "\"\(type)\" is not supported (expected BPE)") }
        if let d = model["dropout"], !d.isNull, d.doubleValue != 0 { throw bad("model.dropout", "BPE dropout is not supported") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key], !v.isNull, v.stringValue != "" { throw bad("model.\(key)", "must be null for byte-level BPE") }
        }
        if model["byte_fallback"]?.boolValue == true { throw bad("model.byte_fallback", "byte fallback is not supported") }
        let ignoreMerges = model["ignore_merges"]?.boolValue ?? false
        let unknown = model["unk_token"]?.stringValue

        guard let vocabMembers = model["vocab"]?.objectValue else { throw bad("model.vocab", "expected an object of token → id") }
        var idOf: [String: Int32] = [:]
        idOf.reserveCapacity(vocabMembers.count)
        var maxID = -1
        for member in vocabMembers {
            guard let id = member.value.intValue, id >= 0, id < Int(Int32.max) else {
                throw bad("model.vocab[\"\(member.key)\"]", "expected a non-negative integer id")
            }
            idOf[member.key] = Int32(id)
            maxID = max(maxID, id)
        }
        var added: [AddedToken] = []
        for (i, item) in (json["added_tokens"]?.arrayValue ?? []).enumerated() {
            guard let id = item["id"]?.intValue, id >= 0, let content = item["content"]?.stringValue else {
                throw bad("added_tokens[\(i)]", "expected an id and a content")
            }
            if item["single_word"]?.boolValue == true { throw bad("added_tokens[\(i)].single_word", "single_word tokens are not supported") }
            added.append(AddedToken(id: id, content: content, special: item["special"]?.boolValue ?? false,
                                    lstrip: item["lstrip"]?.boolValue ?? false, rstrip: item["rstrip"]?.boolValue ?? false))
            maxID = max(maxID, id)
        }
        var tokens = [[UInt8]](repeating: [], count: maxID + 1)
        var inModel = [Bool](repeating: false, count: maxID + 1)
        var verbatim: [Int32: String] = [:]
        for (string, id) in idOf {
            if let bytes = ByteLevelAlphabet.decode(string) {
                tokens[Int(id)] = bytes
            } else {
                tokens[Int(id)] = Array(string.utf8)
                verbatim[id] = string
            }
            inModel[Int(id)] = true
        }

        guard let mergeItems = model["merges"]?.arrayValue else { throw bad("model.merges", "expected an array") }
        var merges: [Triple] = []
        merges.reserveCapacity(mergeItems.count)
        for (i, item) in mergeItems.enumerated() {
            let pair: (String, String)
            if let s = item.stringValue {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw bad("model.merges[\(i)]", "\"\(s)\" is not two tokens separated by a space") }
                pair = (String(parts[0]), String(parts[1]))
            } else if let a = item.arrayValue, a.count == 2, let l = a[0].stringValue, let r = a[1].stringValue {
                pair = (l, r)
            } else {
                throw bad("model.merges[\(i)]", "expected \"left right\" or [left, right]")
            }
            guard let l = idOf[pair.0] else { throw bad("model.merges[\(i)]", "\"\(pair.0)\" is not in the vocabulary") }
            guard let r = idOf[pair.1] else { throw bad("model.merges[\(i)]", "\"\(pair.1)\" is not in the vocabulary") }
            guard let m = idOf[pair.0 + pair.1] else { throw bad("model.merges[\(i)]", "\"\(pair.0 + pair.1)\" is not in the vocabulary") }
            merges.append(Triple(left: l, right: r, merged: m))
        }
        let pre = try preTokenizer(fromJSON: json["pre_tokenizer"])
        var parts = Parts(tokens: tokens, inModelVocab: inModel, verbatimStrings: verbatim, merges: merges, added: added,
                          preTokenizer: pre, ignoreMerges: ignoreMerges, unknownToken: unknown)
        parts.rules = try rules(fromPostProcessor: json["post_processor"], added: added)
        return parts
    }

    /// What a TemplateProcessing post-processor adds around a single text (`single`: special
    /// tokens before and after `$A`), as the model's rules; nil when there is none (the tokenizer
    /// then adds nothing, or is one trained here).
    static func rules(fromPostProcessor json: JSONValue?, added: [AddedToken]) throws(TokenizerFileError) -> SpecialTokenRules? {
        guard let json, !json.isNull else { return nil }
        let processors = json["type"]?.stringValue == "Sequence" ? json["processors"]?.arrayValue ?? [] : [json]
        guard let template = processors.first(where: { $0["type"]?.stringValue == "TemplateProcessing" }) else { return nil }
        guard let single = template["single"]?.arrayValue else {
            throw .badKey(nil, "post_processor.single", "expected the single-text template")
        }
        func special(_ item: JSONValue) throws(TokenizerFileError) -> Int? {
            guard let name = item["SpecialToken"]?["id"]?.stringValue else { return nil }
            guard let id = added.first(where: { $0.content == name })?.id else {
                throw .badKey(nil, "post_processor.single", "special token \"\(name)\" is not an added token")
            }
            return id
        }
        guard let a = single.firstIndex(where: { $0["Sequence"]?["id"]?.stringValue == "A" }) else {
            throw .badKey(nil, "post_processor.single", "has no $A")
        }
        var before: [Int] = [], after: [Int] = []
        for (i, item) in single.enumerated() where i != a {
            if let id = try special(item) { if i < a { before.append(id) } else { after.append(id) } }
        }
        guard before.count <= 1, after.count <= 1 else {
            throw .badKey(nil, "post_processor.single", "more than one special token on a side is not supported")
        }
        let eos = after.first
        return SpecialTokenRules(bosID: before.first, addBOS: !before.isEmpty, eosID: eos, addEOS: eos != nil, stopIDs: [])
    }

    static func preTokenizer(fromJSON json: JSONValue?) throws(TokenizerFileError) -> PreTokenizer {
        func bad(_ key: String, _ why: String) -> TokenizerFileError { .badKey(nil, key, why) }
        guard let json, !json.isNull else { throw bad("pre_tokenizer", "missing (expected ByteLevel)") }
        let items: [JSONValue]
        let isSequence = json["type"]?.stringValue == "Sequence"
        if isSequence {
            guard let list = json["pretokenizers"]?.arrayValue else { throw bad("pre_tokenizer.pretokenizers", "expected an array") }
            items = list
        } else {
            items = [json]
        }
        var steps: [PreTokenizer.Step] = []
        var addPrefixSpace = false
        var sawByteLevel = false
        for (i, item) in items.enumerated() {
            let key = isSequence ? "pre_tokenizer.pretokenizers[\(i)]" : "pre_tokenizer"
            if sawByteLevel { throw bad(key, "steps after ByteLevel are not supported") }
            switch item["type"]?.stringValue {
            case "ByteLevel":
                sawByteLevel = true
                addPrefixSpace = item["add_prefix_space"]?.boolValue ?? false
                if item["use_regex"]?.boolValue ?? true { steps.append(.gpt2) }
            case "Split":
                guard let regex = item["pattern"]?["Regex"]?.stringValue else {
                    throw bad("\(key).pattern", "only Regex patterns are supported")
                }
                guard (item["behavior"]?.stringValue ?? "Isolated") == "Isolated", item["invert"]?.boolValue != true else {
                    throw bad("\(key).behavior", "only behavior Isolated without invert is supported")
                }
                switch regex {
                case gpt2Regex: steps.append(.gpt2)
                case llama3Regex: steps.append(.llama3(maxDigits: 3))
                case qwen2Regex: steps.append(.llama3(maxDigits: 1))
                default: throw bad("\(key).pattern.Regex", "unsupported regex (GPT-2, Llama-3 and Qwen2 patterns are implemented)")
                }
            case "Digits":
                steps.append(.digits(individual: item["individual_digits"]?.boolValue ?? false))
            case let other:
                throw bad("\(key).type", "pre-tokenizer \"\(other ?? "(none)")\" is not supported")
            }
        }
        guard sawByteLevel else { throw bad("pre_tokenizer", "a byte-level BPE needs a ByteLevel pre-tokenizer") }
        if addPrefixSpace, steps.count > 1 { throw bad("pre_tokenizer", "add_prefix_space with several steps is not supported") }
        return PreTokenizer(steps: steps, addPrefixSpace: addPrefixSpace)
    }
}
