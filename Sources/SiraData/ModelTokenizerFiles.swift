import Foundation

/// The special-token rules of a Hugging Face model folder, decided the way `transformers` 5
/// (`AutoTokenizer` on a `tokenizers`-backed class) decides them, from the files beside
/// `tokenizer.json`:
///
/// | what | source, first that says |
/// |---|---|
/// | start/end token added to each text | tokenizer.json's TemplateProcessing post-processor; without one, `tokenizer_config.json`'s `add_bos_token` / `add_eos_token` (a missing one of the pair is false; the tokens are its `bos_token` / `eos_token`); else nothing |
/// | the model's end token (appended after trained completions) | `tokenizer_config.json` `eos_token`, `generation_config.json` `eos_token_id` (first), `config.json` `eos_token_id` (first), the post-processor's end token |
/// | ids that stop generation | `generation_config.json` `eos_token_id` (an int or a list), or `config.json`'s when there is no generation_config.json; plus the end token |
/// | padding | `tokenizer_config.json` `pad_token` |
///
/// The post-processor wins over the flags as in transformers 5, which drops `add_bos_token` /
/// `add_eos_token` whenever a tokenizer.json exists (a Mistral folder with `add_eos_token: true`
/// and a `<s> $A` template gets `<s>` and no `</s>`). Where tokenizer.json has no template the
/// flags are followed, as transformers 4's LlamaTokenizerFast did (transformers 5 would add
/// nothing there): such files predate templates and their flags are what the model was trained with.
///
/// A token the files name that is not in the vocabulary, or an id outside it, is an error naming
/// the file and key. Missing files say nothing.
public enum ModelTokenizerFiles {
    public static let tokenizerConfig = "tokenizer_config.json"
    public static let generationConfig = "generation_config.json"
    public static let modelConfig = "config.json"
    /// The files besides tokenizer.json whose content changes the rules (cache keys hash them).
    public static let ruleFiles = [tokenizerConfig, generationConfig, modelConfig]

    /// The rules for `tokenizer` (read from `folder`/tokenizer.json or another file) given the
    /// JSON files in `folder`.
    public static func rules(for tokenizer: BPETokenizer, folder: URL) throws -> SpecialTokenRules {
        let tokConfig = try read(folder.appendingPathComponent(tokenizerConfig))
        let genConfig = try read(folder.appendingPathComponent(generationConfig))
        let modelConf = try read(folder.appendingPathComponent(modelConfig))
        let base = tokenizer.rules

        func tokenID(_ key: String) throws -> Int?? {
            guard let tokConfig, let value = tokConfig.json[key] else { return .none }
            if value.isNull { return .some(nil) }
            // A string, or an AddedToken object ({"content": ..., "__type": "AddedToken"}).
            guard let name = value.stringValue ?? value["content"]?.stringValue else {
                throw TokenizerFileError.badKey(tokConfig.path, key, "expected a token string or an object with a content")
            }
            guard let id = tokenizer.id(of: name) else {
                throw TokenizerFileError.badKey(tokConfig.path, key, "\"\(name)\" is not a token of the tokenizer")
            }
            return .some(id)
        }
        func ids(_ file: (path: String, json: JSONValue)?, _ key: String) throws -> [Int]? {
            guard let file, let value = file.json[key], !value.isNull else { return nil }
            let list = value.arrayValue ?? [value]
            var out: [Int] = []
            for item in list {
                guard let id = item.intValue, id >= 0, id < tokenizer.vocabSize else {
                    throw TokenizerFileError.badKey(file.path, key, "\(item.kindName == "number" ? "\(item.doubleValue!)" : item.kindName) is not a token id of the tokenizer (0..<\(tokenizer.vocabSize))")
                }
                out.append(id)
            }
            return out
        }
        func flag(_ key: String) throws -> Bool? {
            guard let tokConfig, let value = tokConfig.json[key], !value.isNull else { return nil }
            guard let b = value.boolValue else { throw TokenizerFileError.badKey(tokConfig.path, key, "expected true or false") }
            return b
        }

        let configBOS = try tokenID("bos_token"), configEOS = try tokenID("eos_token"), configPad = try tokenID("pad_token")
        let genEOS = try ids(genConfig, "eos_token_id"), modelEOS = try ids(modelConf, "eos_token_id")

        let bosID = configBOS ?? base.bosID
        let eosID = configEOS ?? genEOS?.first ?? modelEOS?.first ?? base.eosID
        var addBOS = base.addBOS, addEOS = base.addEOS
        var addedBOS = base.bosID, addedEOS = base.eosID
        let addBOSFlag = try flag("add_bos_token"), addEOSFlag = try flag("add_eos_token")
        if !tokenizer.rulesFromFile, addBOSFlag != nil || addEOSFlag != nil {
            // No TemplateProcessing in tokenizer.json: the flags say it (LlamaTokenizerFast
            // rebuilds its post-processor from them and the named tokens).
            addBOS = (addBOSFlag ?? false) && bosID != nil
            addEOS = (addEOSFlag ?? false) && eosID != nil
            addedBOS = bosID
            addedEOS = eosID
        }
        let stops = (genConfig != nil ? genEOS : modelEOS) ?? []
        return SpecialTokenRules(bosID: addBOS ? addedBOS : bosID, addBOS: addBOS,
                                 eosID: addEOS ? addedEOS : eosID, addEOS: addEOS,
                                 stopIDs: stops, padID: configPad ?? base.padID)
    }

    private static func read(_ url: URL) throws -> (path: String, json: JSONValue)? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: url)) } catch {
            throw TokenizerFileError.badKey(url.path, "(file)", "cannot read: \(error.localizedDescription)")
        }
        do {
            let json = try JSONParser.parse(bytes)
            guard case .object = json else { throw TokenizerFileError.badKey(url.path, "(root)", "expected an object") }
            return (url.path, json)
        } catch let error as JSONError {
            let (line, column) = bytes.withUnsafeBytes { error.location(in: $0) }
            throw TokenizerFileError.badJSON(url.path, line, column, error.message)
        }
    }
}

extension BPETokenizer {
    /// The tokenizer of an HF model folder with the folder's special-token rules
    /// (`ModelTokenizerFiles`): `tokenizerFile` (default `folder`/tokenizer.json).
    public static func load(modelFolder folder: URL, tokenizerFile: URL? = nil) throws -> BPETokenizer {
        let plain = try BPETokenizer(contentsOf: tokenizerFile ?? folder.appendingPathComponent("tokenizer.json"))
        if plain.isTrainedHere { return plain }
        let rules = try ModelTokenizerFiles.rules(for: plain, folder: folder)
        return rules == plain.rules ? plain : plain.with(rules: rules)
    }

    /// A tokenizer this pipeline trained (`<|bos|>` first, `<|eos|>` last): its own rules stand,
    /// whatever files lie beside it.
    public var isTrainedHere: Bool {
        addedTokens.contains { $0.content == SpecialTokens.bos } && addedTokens.contains { $0.content == SpecialTokens.eos }
            && rules.bosID == addedTokens.first { $0.content == SpecialTokens.bos }?.id
    }

    /// One line saying which start token is added and which ids stop generation (`stops`: the
    /// rules' stop ids and any the model adds), as score, generate and the tokenizer stage print it.
    public func specialTokenSummary(stops: [Int]? = nil) -> String {
        let r = rules, stops = stops ?? r.stopIDs
        let start = r.addBOS && r.bosID != nil ? "\(tokenName(r.bosID!)) (id \(r.bosID!))" : "none added"
        let list = stops.map { "\(tokenName($0)) (\($0))" }.joined(separator: ", ")
        return "start token: \(start); generation stops at: \(stops.isEmpty ? "nothing" : list)"
    }

    /// The text of the start token the tokenizer adds itself (nil when it adds none): what a
    /// chat template's leading `bos_token` must not repeat (`ModelChatTemplate.apply`).
    public var startTokenText: String? {
        bosID >= 0 ? String(decoding: tokenBytes(bosID), as: UTF8.self) : nil
    }

    /// The start and end tokens' strings a chat template renders (`bos_token`, `eos_token`), for
    /// a tokenizer whose files do not name them (a GGUF's).
    public var templateSpecialTokens: [String: String] {
        var out: [String: String] = [:]
        if let bos = rules.bosID { out["bos_token"] = tokenName(bos) }
        if let eos = rules.eosID { out["eos_token"] = tokenName(eos) }
        return out
    }

    /// The name of a token for messages: an added token's text, else its bytes as text.
    public func tokenName(_ id: Int) -> String {
        if let t = addedTokens.first(where: { $0.id == id }) { return t.content }
        return String(decoding: tokenBytes(id), as: UTF8.self)
    }
}
