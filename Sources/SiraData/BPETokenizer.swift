import Foundation
import SiraIO

/// A byte-level BPE tokenizer (GPT-2 family), trained here (`train`) or loaded from a Hugging Face
/// `tokenizer.json` (ours, GPT-2, Llama-3, SmolLM style).
///
/// Encoding (what `tokenizers`' `encode(text, add_special_tokens=False)` gives, id for id):
/// 1. added tokens (`<|bos|>`, ...) are cut out of the raw text wherever they appear;
/// 2. each stretch between them is split into pre-tokens by `preTokenizer`;
/// 3. each pre-token's UTF-8 bytes start as one symbol per byte and are merged by rank
///    (`BPEMerger`); a per-thread cache remembers the ids of pre-tokens already seen.
/// Decoding concatenates the tokens' bytes, so `decode(encode(s)) == s` for every string.
///
/// Thread safety: immutable after construction; `encode` may be called from any number of
/// threads (each call borrows a private cache from a small pool).
public final class BPETokenizer: Sendable {
    /// Number of ids (one past the largest id in use).
    public let vocabSize: Int
    /// Where the model's special tokens go (`SpecialTokenRules`).
    public let rules: SpecialTokenRules
    /// The id put before every text, -1 when the tokenizer adds none (`rules.addBOS`); the end
    /// token (-1 if none) and padding (falls back to eos). Trained tokenizers have `<|bos|>`,
    /// `<|eos|>`, `<|pad|>`.
    public let bosID: Int
    public let eosID: Int
    public let padID: Int
    public let preTokenizer: PreTokenizer
    public let addedTokens: [AddedToken]
    /// The rules came from the file itself (a TemplateProcessing post-processor, GGUF metadata,
    /// or rules applied with `with(rules:)`), not from defaults.
    public let rulesFromFile: Bool

    let ignoreMerges: Bool
    let unknownToken: String?
    let unknownID: Int32
    /// Token bytes by id: `tokenArena[tokenOffsets[id] ..< tokenOffsets[id + 1]]`.
    let tokenOffsets: [Int32]
    let tokenArena: [UInt8]
    let isSpecial: [Bool]
    /// Ids that belong to the BPE model's vocabulary (the rest are added tokens only).
    let inModelVocab: [Bool]
    /// Model tokens whose tokenizer.json string is not in the byte-level alphabet (kept verbatim).
    let verbatimStrings: [Int32: String]
    let byteIDs: [Int32]
    let merges: MergeTable
    /// (left, right, merged) in rank order.
    let mergeList: [Triple]
    let wholeWords: [[UInt8]: Int32]
    let matcher: AddedTokenMatcher
    let pool = EncoderPool()

    struct Triple: Sendable, Equatable {
        let left: Int32, right: Int32, merged: Int32
    }

    /// Everything a tokenizer is made of; built by the trainer and the tokenizer.json reader.
    struct Parts {
        var tokens: [[UInt8]] // by id; empty for unused ids
        var inModelVocab: [Bool]
        var verbatimStrings: [Int32: String] = [:]
        var merges: [Triple]
        var added: [AddedToken]
        var preTokenizer: PreTokenizer
        var ignoreMerges = false
        var unknownToken: String?
        /// The model's own special-token rules (GGUF metadata, a tokenizer.json post-processor);
        /// nil: a tokenizer trained here, or one whose files say nothing (see `init`).
        var rules: SpecialTokenRules?
        /// A tokenizer.json with a post-processor that adds no start token.
        var postProcessorAddsNothing = false
    }

    init(_ parts: Parts) {
        var tokens = parts.tokens
        for t in parts.added {
            while tokens.count <= t.id { tokens.append([]) }
            if !parts.inModelVocab.indices.contains(t.id) || !parts.inModelVocab[t.id] { tokens[t.id] = Array(t.content.utf8) }
        }
        vocabSize = tokens.count
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        var arena: [UInt8] = []
        for t in tokens {
            arena += t
            offsets.append(Int32(arena.count))
        }
        tokenOffsets = offsets
        tokenArena = arena
        var special = [Bool](repeating: false, count: tokens.count)
        for t in parts.added where t.special { special[t.id] = true }
        isSpecial = special
        var model = parts.inModelVocab
        while model.count < tokens.count { model.append(false) }
        inModelVocab = model
        verbatimStrings = parts.verbatimStrings
        addedTokens = parts.added
        preTokenizer = parts.preTokenizer
        ignoreMerges = parts.ignoreMerges
        unknownToken = parts.unknownToken

        var lookup: [[UInt8]: Int32] = [:]
        for (id, t) in parts.tokens.enumerated() where !t.isEmpty && model[id] && parts.verbatimStrings[Int32(id)] == nil {
            if lookup[t] == nil { lookup[t] = Int32(id) }
        }
        byteIDs = (0 ..< 256).map { lookup[[UInt8($0)]] ?? -1 }
        var table = MergeTable(capacity: parts.merges.count)
        for (rank, m) in parts.merges.enumerated() { table.insert(m.left, m.right, rank: Int32(rank), merged: m.merged) }
        merges = table
        mergeList = parts.merges
        wholeWords = parts.ignoreMerges ? lookup : [:]
        unknownID = parts.unknownToken.flatMap { name in
            parts.added.first { $0.content == name }.map { Int32($0.id) } ?? lookup[Array(name.utf8)]
        } ?? -1
        matcher = AddedTokenMatcher(parts.added)

        func find(_ names: [String]) -> Int {
            for name in names {
                if let t = parts.added.first(where: { $0.content == name }) { return t.id }
            }
            return -1
        }
        let eosByName = find([SpecialTokens.eos, "<|end_of_text|>", "</s>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>"])
        let resolved: SpecialTokenRules
        if var given = parts.rules {
            // A post-processor that adds no end token still leaves the model one to stop at.
            if given.eosID == nil, eosByName >= 0 { given = SpecialTokenRules(bosID: given.bosID, addBOS: given.addBOS, eosID: eosByName, stopIDs: given.stopIDs, padID: given.padID) }
            resolved = given
        } else if find([SpecialTokens.bos]) >= 0 {
            // Trained here: `<|bos|>` first, `<|eos|>` last (there is no model to follow).
            let eos = find([SpecialTokens.eos])
            resolved = SpecialTokenRules(bosID: find([SpecialTokens.bos]), addBOS: true, eosID: eos >= 0 ? eos : nil,
                                         stopIDs: [], padID: find([SpecialTokens.pad]) >= 0 ? find([SpecialTokens.pad]) : nil)
        } else {
            // An imported tokenizer.json without a start-token post-processor: nothing before the
            // text (as transformers); the end token by its usual names until the model's files
            // (generation_config.json, special_tokens.json) say otherwise.
            let bos = find(["<|begin_of_text|>", "<s>", "<|endoftext|>", "<|im_start|>"])
            resolved = SpecialTokenRules(bosID: bos >= 0 ? bos : nil, addBOS: false, eosID: eosByName >= 0 ? eosByName : nil, stopIDs: [])
        }
        rules = resolved
        rulesFromFile = parts.rules != nil
        bosID = resolved.addBOS ? resolved.bosID ?? -1 : -1
        eosID = resolved.eosID ?? -1
        let pad = resolved.padID ?? find([SpecialTokens.pad, "<pad>", "<|pad|>", "<|finetune_right_pad_id|>", "[PAD]"])
        padID = pad >= 0 ? pad : eosID
    }

    /// A copy that follows `rules` (the model's files said more than the tokenizer file did).
    public func with(rules: SpecialTokenRules) -> BPETokenizer {
        var parts = Parts(tokens: (0 ..< vocabSize).map { Array(bytes(of: Int32($0))) }, inModelVocab: inModelVocab,
                          verbatimStrings: verbatimStrings, merges: mergeList, added: addedTokens, preTokenizer: preTokenizer,
                          ignoreMerges: ignoreMerges, unknownToken: unknownToken)
        for t in addedTokens where !inModelVocab[t.id] { parts.tokens[t.id] = [] }
        parts.rules = rules
        return BPETokenizer(parts)
    }

    /// Loads a tokenizer.json (ours or the `tokenizers` library's byte-level BPE).
    public convenience init(contentsOf url: URL) throws {
        let bytes = try Data(contentsOf: url)
        let json: JSONValue
        do {
            json = try [UInt8](bytes).withUnsafeBytes { try JSONParser.parse($0) }
        } catch let error as JSONError {
            let (line, column) = [UInt8](bytes).withUnsafeBytes { error.location(in: $0) }
            throw TokenizerFileError.badJSON(url.path, line, column, error.message)
        }
        do {
            try self.init(Self.parts(fromJSON: json))
        } catch {
            throw error.at(url.path)
        }
    }

    /// Builds a tokenizer from a parsed tokenizer.json document.
    public convenience init(json: JSONValue) throws {
        try self.init(Self.parts(fromJSON: json))
    }

    /// The id of an added token or of a model token given by its text ("hello", not "Ġhello").
    public func id(of token: String) -> Int? {
        if let t = addedTokens.first(where: { $0.content == token }) { return t.id }
        let bytes = Array(token.utf8)
        for id in 0 ..< vocabSize where inModelVocab[id] && self.bytes(of: Int32(id)).elementsEqual(bytes) {
            return id
        }
        return nil
    }

    /// The bytes a token stands for (an added token's UTF-8 text).
    public func tokenBytes(_ id: Int) -> [UInt8] {
        guard id >= 0, id < vocabSize else { return [] }
        return Array(bytes(of: Int32(id)))
    }

    @inline(__always) func bytes(of id: Int32) -> ArraySlice<UInt8> {
        tokenArena[Int(tokenOffsets[Int(id)]) ..< Int(tokenOffsets[Int(id) + 1])]
    }

    /// Number of merge rules.
    public var mergeCount: Int { mergeList.count }

    // MARK: Encoding

    public func encode(_ text: String) -> [Int] {
        encodeIDs(text).map(Int.init)
    }

    /// Ids as `Int32` (what token shards store), without the conversion of `encode`.
    public func encodeIDs(_ text: String) -> [Int32] {
        pool.withState { state in
            var out: [Int32] = []
            out.reserveCapacity(text.utf8.count / 3 + 4)
            encode(text, into: &out, state: state)
            return out
        }
    }

    /// Encodes many texts on `threads` threads (default: all cores); results in input order.
    public func encodeBatch(_ texts: [String], threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [[Int32]] {
        var results = [[Int32]](repeating: [], count: texts.count)
        let workers = max(1, min(threads, texts.count))
        results.withUnsafeMutableBufferPointer { buffer in
            let out = UnsafeSendable(buffer)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                pool.withState { state in
                    var i = w
                    while i < texts.count {
                        var ids: [Int32] = []
                        ids.reserveCapacity(texts[i].utf8.count / 3 + 4)
                        encode(texts[i], into: &ids, state: state)
                        out.value[i] = ids
                        i += workers
                    }
                }
            }
        }
        return results
    }

    func encode(_ text: String, into out: inout [Int32], state: EncoderState) {
        var text = text
        text.withUTF8 { buf in
            guard let base = buf.baseAddress, buf.count > 0 else { return }
            matcher.split(base, buf.count, text: { s, e in
                encodeText(base + s, e - s, into: &out, state: state)
            }, token: { id in
                out.append(id)
            })
        }
    }

    /// Encodes a stretch of text with no added tokens in it.
    private func encodeText(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [Int32], state: EncoderState) {
        if preTokenizer.addPrefixSpace, n > 0, p[0] != 0x20 {
            state.scratch.removeAll(keepingCapacity: true)
            state.scratch.append(0x20)
            state.scratch.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
            let copy = state.scratch
            copy.withUnsafeBufferPointer { buf in
                preTokenizer.split(buf.baseAddress!, 0, buf.count) { s, e in
                    encodeWord(buf.baseAddress! + s, e - s, into: &out, state: state)
                }
            }
            return
        }
        preTokenizer.split(p, 0, n) { s, e in
            encodeWord(p + s, e - s, into: &out, state: state)
        }
    }

    @inline(__always) private func encodeWord(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [Int32], state: EncoderState) {
        if n == 1 {
            let id = byteIDs[Int(p[0])]
            if id >= 0 { out.append(id) } else if unknownID >= 0 { out.append(unknownID) }
            return
        }
        let h = WordCache.hash(p, n)
        if state.cache.lookup(p, n, hash: h, into: &out) { return }
        let before = out.count
        if ignoreMerges, let id = wholeWords[Array(UnsafeBufferPointer(start: p, count: n))] {
            out.append(id)
        } else {
            byteIDs.withUnsafeBufferPointer { ids in
                state.merger.merge(p, n, byteIDs: ids.baseAddress!, unknown: unknownID, merges: merges, into: &out)
            }
        }
        state.cache.insert(p, n, hash: h, ids: out[before...])
    }

    // MARK: Decoding

    /// The text of `ids`: their bytes concatenated, read as UTF-8 (a sequence cut inside a
    /// character decodes with U+FFFD there). Ids out of range are ignored.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }

    public func decodeBytes(_ ids: [Int], skipSpecialTokens: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids where id >= 0 && id < vocabSize {
            if skipSpecialTokens, isSpecial[id] { continue }
            out += bytes(of: Int32(id))
        }
        return out
    }

    // MARK: Saving

    /// Writes the tokenizer as a Hugging Face tokenizer.json, atomically.
    public func save(to url: URL) throws {
        var bytes: [UInt8] = []
        JSONWriter.write(tokenizerJSON(), to: &bytes)
        bytes.append(0x0A)
        try AtomicFile.write(bytes, to: url)
    }

    /// SHA-256 of the tokenizer.json this tokenizer saves as: its identity in cache keys and packages.
    public var contentHash: String {
        var bytes: [UInt8] = []
        JSONWriter.write(tokenizerJSON(), to: &bytes)
        bytes.append(0x0A)
        return ContentHash.sha256(bytes)
    }
}

/// Per-thread encoding scratch: the pre-token cache and merge buffers.
final class EncoderState {
    let cache = WordCache()
    var merger = BPEMerger()
    var scratch: [UInt8] = []
}

/// Lends `EncoderState`s to encoding calls so caches persist across calls without being shared.
final class EncoderPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [EncoderState] = []

    func withState<R>(_ body: (EncoderState) -> R) -> R {
        let state = lock.withLock { free.popLast() } ?? EncoderState()
        defer { lock.withLock { if free.count < 64 { free.append(state) } } }
        return body(state)
    }
}

/// A raw buffer handed to `concurrentPerform` workers that write disjoint elements.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

public enum TokenizerFileError: Error, CustomStringConvertible, Equatable {
    case badJSON(String, Int, Int, String)
    case badKey(String?, String, String)

    public var description: String {
        switch self {
        case let .badJSON(path, line, column, message): return "\(path):\(line):\(column): \(message)"
        case let .badKey(path, key, why): return "\(path.map { $0 + ": " } ?? "")\(key): \(why)"
        }
    }

    func at(_ path: String) -> TokenizerFileError {
        if case let .badKey(nil, key, why) = self { return .badKey(path, key, why) }
        return self
    }
}
