/// Where a model's own tokenizer puts its special tokens, as its files say (DESIGN.md §5: BOS/EOS
/// are added exactly as the model's tokenizer files say): whether a begin-of-sequence token starts
/// every text, whether an end token closes it, which ids end generation, which id pads.
///
/// Sources: GGUF's `tokenizer.ggml.add_bos_token` / `add_eos_token` / `*_token_id`; for a
/// tokenizer.json, its TemplateProcessing post-processor (a special token before `$A`) — no
/// post-processor means nothing is added, as `transformers` does. Tokenizers trained by the
/// pipeline have no model of their own to follow: they put `<|bos|>` first and `<|eos|>` last.
public struct SpecialTokenRules: Sendable, Equatable, Codable {
    public var bosID: Int?
    /// The start token is put before every encoded text (prompt, scored text, generation prompt).
    public var addBOS: Bool
    /// The model's end token: appended after a completion it is trained on (unless the completion
    /// already ends with a stop id, as a chat template's end of turn does) and a stop id.
    public var eosID: Int?
    public var addEOS: Bool
    /// Generation stops at any of these (end of text, end of turn).
    public var stopIDs: [Int]
    public var padID: Int?

    public init(bosID: Int?, addBOS: Bool, eosID: Int?, addEOS: Bool = false, stopIDs: [Int], padID: Int? = nil) {
        self.bosID = bosID
        self.addBOS = addBOS
        self.eosID = eosID
        self.addEOS = addEOS
        var stops: [Int] = []
        for id in stopIDs + (eosID.map { [$0] } ?? []) where !stops.contains(id) { stops.append(id) }
        self.stopIDs = stops
        self.padID = padID
    }

    /// The ids to put before a text.
    public var prefix: [Int32] { addBOS ? bosID.map { [Int32($0)] } ?? [] : [] }

    /// The ids to put after a text the tokenizer encodes with its special tokens (`add_eos_token`).
    public var suffix: [Int32] { addEOS ? eosID.map { [Int32($0)] } ?? [] : [] }

    /// The token to append after a trained completion whose last token is `last`: the end token,
    /// unless the completion already ends with a stop id or another special token (a chat
    /// template's end of turn, `<|im_end|>`): a second end marker is never part of the model's
    /// format. Nil when nothing is appended.
    public func completionEnd(last: Int32?, isSpecial: (Int) -> Bool) -> Int32? {
        guard let eosID else { return nil }
        if let last, stopIDs.contains(Int(last)) || isSpecial(Int(last)) { return nil }
        return Int32(eosID)
    }

    /// These rules with `ids` added to the stop ids (config.json's `eos_token_id`, a chat
    /// template's end of turn); duplicates dropped, order kept.
    public func addingStops(_ ids: [Int]) -> SpecialTokenRules {
        SpecialTokenRules(bosID: bosID, addBOS: addBOS, eosID: eosID, addEOS: addEOS, stopIDs: stopIDs + ids, padID: padID)
    }
}
