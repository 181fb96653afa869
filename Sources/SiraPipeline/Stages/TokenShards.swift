import Foundation
import SiraIO

/// The encoded examples of one task split, as the tokenize stage writes them and training reads
/// them: `<split>.tokens`, little-endian:
/// `"SIRATOK1"`, count N (u64), N+1 token offsets (u64), N scored-from indices (u32), then the
/// tokens (i32). Read through a memory map.
enum TokenShards {
    enum Split: String, CaseIterable { case train, eval }

    static let magic = Array("SIRATOK1".utf8)

    static func fileName(_ split: Split) -> String { "\(split.rawValue).tokens" }

    static func write(_ examples: [EncodedExample], to url: URL) throws {
        var out: [UInt8] = magic
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u64(UInt64(examples.count))
        var offset: UInt64 = 0
        u64(0)
        for e in examples {
            offset += UInt64(e.tokens.count)
            u64(offset)
        }
        for e in examples { u32(UInt32(e.scoredFrom)) }
        out.reserveCapacity(out.count + Int(offset) * 4)
        for e in examples { for t in e.tokens { withUnsafeBytes(of: t.littleEndian) { out += $0 } } }
        try AtomicFile.write(out, to: url)
    }

    static func read(_ url: URL) throws -> [EncodedExample] {
        let file = try MappedFile(url)
        let b = file.bytes
        func bad(_ why: String) -> StageFailure { StageFailure("\(url.path): \(why)") }
        guard b.count >= 16, Array(b[0 ..< 8]) == magic else { throw bad("not a token shard") }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        let n = Int(u64(8))
        let offsetsAt = 16, scoredAt = offsetsAt + (n + 1) * 8, tokensAt = scoredAt + n * 4
        guard n >= 0, tokensAt <= b.count else { throw bad("truncated header") }
        let total = Int(u64(offsetsAt + n * 8))
        guard tokensAt + total * 4 == b.count else { throw bad("size does not match its \(total) tokens") }
        var out: [EncodedExample] = []
        out.reserveCapacity(n)
        for i in 0 ..< n {
            let lo = Int(u64(offsetsAt + i * 8)), hi = Int(u64(offsetsAt + (i + 1) * 8))
            guard lo <= hi, hi <= total else { throw bad("bad offsets at example \(i)") }
            let scored = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: scoredAt + i * 4, as: UInt32.self)))
            var tokens = [Int32](repeating: 0, count: hi - lo)
            for j in 0 ..< (hi - lo) {
                tokens[j] = Int32(littleEndian: b.loadUnaligned(fromByteOffset: tokensAt + (lo + j) * 4, as: Int32.self))
            }
            out.append(EncodedExample(tokens: tokens, scoredFrom: scored))
        }
        return out
    }

    /// The examples of `split` in a tokenize stage's output.
    static func examples(_ output: StageOutput, split: Split) throws -> [EncodedExample] {
        try read(output.url(fileName(split)))
    }
}
