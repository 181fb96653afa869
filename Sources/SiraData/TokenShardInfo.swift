/// The `shard.json` of a token shard.
public struct TokenShardInfo: Sendable, Equatable {
    public static let formatName = "sira-shard-v1"

    public enum DType: String, Sendable {
        case uint16, uint32
        public var size: Int { self == .uint16 ? 2 : 4 }
    }

    public var dtype: DType
    public var vocabSize: Int
    public var examples: Int
    public var tokens: Int
    /// Tokens with mask 1.
    public var scoredTokens: Int
    public var tokenizerSHA256: String?
    public var tokensSHA256: String
    public var maskSHA256: String
    public var indexSHA256: String

    public var json: JSONValue {
        .object([
            JSONMember("format", .string(Self.formatName)),
            JSONMember("dtype", .string(dtype.rawValue)),
            JSONMember("vocab_size", .number(Double(vocabSize))),
            JSONMember("examples", .number(Double(examples))),
            JSONMember("tokens", .number(Double(tokens))),
            JSONMember("scored_tokens", .number(Double(scoredTokens))),
            JSONMember("tokenizer_sha256", tokenizerSHA256.map(JSONValue.string) ?? .null),
            JSONMember("files", .object([
                JSONMember(TokenShard.tokensFileName, .string(tokensSHA256)),
                JSONMember(TokenShard.maskFileName, .string(maskSHA256)),
                JSONMember(TokenShard.indexFileName, .string(indexSHA256)),
            ])),
        ])
    }

    public init(dtype: DType, vocabSize: Int, examples: Int, tokens: Int, scoredTokens: Int, tokenizerSHA256: String?,
                tokensSHA256: String, maskSHA256: String, indexSHA256: String)
    {
        self.dtype = dtype
        self.vocabSize = vocabSize
        self.examples = examples
        self.tokens = tokens
        self.scoredTokens = scoredTokens
        self.tokenizerSHA256 = tokenizerSHA256
        self.tokensSHA256 = tokensSHA256
        self.maskSHA256 = maskSHA256
        self.indexSHA256 = indexSHA256
    }

    public init(json: JSONValue) throws(TokenShardError) {
        func bad(_ key: String) -> TokenShardError { .bad(TokenShard.infoFileName, "missing or invalid \"\(key)\"") }
        guard json["format"]?.stringValue == Self.formatName else { throw bad("format") }
        guard let d = json["dtype"]?.stringValue.flatMap(DType.init(rawValue:)) else { throw bad("dtype") }
        guard let v = json["vocab_size"]?.intValue, v > 0 else { throw bad("vocab_size") }
        guard let e = json["examples"]?.intValue, e >= 0 else { throw bad("examples") }
        guard let t = json["tokens"]?.intValue, t >= 0 else { throw bad("tokens") }
        guard let s = json["scored_tokens"]?.intValue, s >= 0 else { throw bad("scored_tokens") }
        let files = json["files"]
        guard let th = files?[TokenShard.tokensFileName]?.stringValue else { throw bad("files.\(TokenShard.tokensFileName)") }
        guard let mh = files?[TokenShard.maskFileName]?.stringValue else { throw bad("files.\(TokenShard.maskFileName)") }
        guard let ih = files?[TokenShard.indexFileName]?.stringValue else { throw bad("files.\(TokenShard.indexFileName)") }
        self.init(dtype: d, vocabSize: v, examples: e, tokens: t, scoredTokens: s, tokenizerSHA256: json["tokenizer_sha256"]?.stringValue,
                  tokensSHA256: th, maskSHA256: mh, indexSHA256: ih)
    }
}
