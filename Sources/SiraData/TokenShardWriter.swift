import Foundation
import SiraIO

/// Writes a token shard: a folder the trainer memory-maps.
///
/// Layout (all little-endian):
/// - `tokens.bin` — every example's token ids back to back, `uint16` when the vocabulary has at
///   most 65536 ids, else `uint32`;
/// - `mask.bin` — one byte per token, 1 where the loss scores it (see `TokenizedExample.mask`);
/// - `index.bin` — N+1 `uint64` token offsets: example i is tokens[offset[i] ..< offset[i+1]];
/// - `shard.json` — format, dtype, vocabulary size, counts, the tokenizer's hash and each file's SHA-256.
/// The folder is built aside and renamed into place by `finish`, so a shard is complete or absent.
public final class TokenShardWriter {
    public let folder: URL
    public let vocabSize: Int
    public let dtype: TokenShardInfo.DType
    private let tmp: URL
    private let tokens: BufferedWriter
    private let mask: BufferedWriter
    private let index: BufferedWriter
    private var offset: UInt64 = 0
    private var examples = 0
    private var scored = 0
    private var finished = false
    private let tokenizerSHA256: String?
    private var scratch: [UInt8] = []

    public init(folder: URL, vocabSize: Int, tokenizerSHA256: String? = nil) throws {
        precondition(vocabSize > 0 && vocabSize <= Int(UInt32.max), "vocabSize \(vocabSize) out of range")
        self.folder = folder
        self.vocabSize = vocabSize
        self.tokenizerSHA256 = tokenizerSHA256
        dtype = vocabSize <= 65536 ? .uint16 : .uint32
        try FileManager.default.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
        tmp = AtomicFile.temporaryURL(for: folder)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        tokens = try BufferedWriter(creating: tmp.appendingPathComponent(TokenShard.tokensFileName))
        mask = try BufferedWriter(creating: tmp.appendingPathComponent(TokenShard.maskFileName))
        index = try BufferedWriter(creating: tmp.appendingPathComponent(TokenShard.indexFileName))
        try index.append(Self.u64(0))
    }

    deinit {
        if !finished { try? FileManager.default.removeItem(at: tmp) }
    }

    public func append(_ example: TokenizedExample) throws {
        try append(tokens: example.tokens, mask: example.mask)
    }

    /// Appends one example; every id must be below `vocabSize` and `mask` as long as `tokens`.
    public func append(tokens ids: [Int32], mask flags: [UInt8]) throws {
        guard ids.count == flags.count else { throw TokenShardError.mismatchedMask(ids.count, flags.count) }
        scratch.removeAll(keepingCapacity: true)
        for id in ids {
            guard id >= 0, Int(id) < vocabSize else { throw TokenShardError.tokenOutOfRange(Int(id), vocabSize) }
            let v = UInt32(id)
            scratch.append(UInt8(truncatingIfNeeded: v))
            scratch.append(UInt8(truncatingIfNeeded: v >> 8))
            if dtype == .uint32 {
                scratch.append(UInt8(truncatingIfNeeded: v >> 16))
                scratch.append(UInt8(truncatingIfNeeded: v >> 24))
            }
        }
        try tokens.append(scratch)
        try mask.append(flags.map { $0 == 0 ? 0 : 1 })
        scored += flags.reduce(0) { $0 + ($1 == 0 ? 0 : 1) }
        offset += UInt64(ids.count)
        examples += 1
        try index.append(Self.u64(offset))
    }

    /// Publishes the shard and returns its description.
    @discardableResult
    public func finish() throws -> TokenShardInfo {
        let info = TokenShardInfo(
            dtype: dtype, vocabSize: vocabSize, examples: examples, tokens: Int(offset), scoredTokens: scored,
            tokenizerSHA256: tokenizerSHA256,
            tokensSHA256: try tokens.finish(), maskSHA256: try mask.finish(), indexSHA256: try index.finish())
        var bytes: [UInt8] = []
        JSONWriter.write(info.json, to: &bytes)
        bytes.append(0x0A)
        try AtomicFile.write(bytes, to: tmp.appendingPathComponent(TokenShard.infoFileName))
        try AtomicFile.syncTree(tmp)
        try AtomicFile.publish(tmp, to: folder)
        finished = true
        return info
    }

    private static func u64(_ v: UInt64) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    /// Tokenizes one split of a snapshot into a shard (examples encoded on all cores, in order).
    @discardableResult
    /// `transform` rewrites each example first (the model's chat template, `ModelChatTemplate.apply`).
    public static func write(snapshot: Snapshot, split: Snapshot.Split, tokenizer: BPETokenizer, to folder: URL,
                             transform: ((Example) throws -> Example)? = nil) throws -> TokenShardInfo {
        let writer = try TokenShardWriter(folder: folder, vocabSize: tokenizer.vocabSize, tokenizerSHA256: tokenizer.contentHash)
        var block: [Example] = []
        func flush() throws {
            for encoded in tokenizer.encodeBatch(examples: block) { try writer.append(encoded) }
            block.removeAll(keepingCapacity: true)
        }
        try snapshot.forEachExample(split) { example in
            block.append(try transform?(example) ?? example)
            if block.count >= 4096 { try flush() }
        }
        try flush()
        return try writer.finish()
    }
}

public enum TokenShardError: Error, CustomStringConvertible, Equatable {
    case mismatchedMask(Int, Int)
    case tokenOutOfRange(Int, Int)
    case bad(String, String)

    public var description: String {
        switch self {
        case let .mismatchedMask(t, m): return "token shard: \(t) tokens but \(m) mask entries"
        case let .tokenOutOfRange(id, vocab): return "token shard: id \(id) is outside the vocabulary of \(vocab)"
        case let .bad(path, why): return "\(path): \(why)"
        }
    }
}
