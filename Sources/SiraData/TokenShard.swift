import Foundation
import SiraIO

/// A token shard opened for reading: its three files are memory-mapped, so examples are read
/// straight from the page cache and several processes share one copy. Immutable; safe to read
/// from any number of threads.
public final class TokenShard: Sendable {
    public static let tokensFileName = "tokens.bin"
    public static let maskFileName = "mask.bin"
    public static let indexFileName = "index.bin"
    public static let infoFileName = "shard.json"

    public let folder: URL
    public let info: TokenShardInfo
    private let tokens: MappedFile
    private let mask: MappedFile
    private let index: MappedFile

    /// Opens a shard and checks that its files agree with `shard.json` (sizes, monotone offsets).
    public init(_ folder: URL) throws {
        self.folder = folder
        let infoURL = folder.appendingPathComponent(Self.infoFileName)
        do {
            info = try TokenShardInfo(json: try JSONParser.parse(Array(try Data(contentsOf: infoURL))))
        } catch let error as TokenShardError {
            throw TokenShardError.bad(infoURL.path, error.description)
        } catch {
            throw TokenShardError.bad(infoURL.path, "\(error)")
        }
        tokens = try MappedFile(folder.appendingPathComponent(Self.tokensFileName))
        mask = try MappedFile(folder.appendingPathComponent(Self.maskFileName))
        index = try MappedFile(folder.appendingPathComponent(Self.indexFileName))
        func bad(_ why: String) -> TokenShardError { .bad(folder.path, why) }
        guard tokens.count == info.tokens * info.dtype.size else { throw bad("tokens.bin has \(tokens.count) bytes, expected \(info.tokens * info.dtype.size)") }
        guard mask.count == info.tokens else { throw bad("mask.bin has \(mask.count) bytes, expected \(info.tokens)") }
        guard index.count == (info.examples + 1) * 8 else { throw bad("index.bin has \(index.count) bytes, expected \((info.examples + 1) * 8)") }
        var previous: UInt64 = 0
        for i in 0 ... info.examples {
            let o = offset(i)
            guard o >= previous, o <= UInt64(info.tokens), i > 0 || o == 0 else { throw bad("index.bin: offset \(i) out of order") }
            previous = o
        }
        guard previous == UInt64(info.tokens) else { throw bad("index.bin ends at \(previous), expected \(info.tokens)") }
    }

    public var count: Int { info.examples }
    public var tokenCount: Int { info.tokens }

    @inline(__always) private func offset(_ i: Int) -> UInt64 {
        UInt64(littleEndian: index.bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
    }

    /// The token positions of example `i`.
    public func range(of i: Int) -> Range<Int> {
        precondition(i >= 0 && i < count, "example \(i) outside 0..<\(count)")
        return Int(offset(i)) ..< Int(offset(i + 1))
    }

    public func length(of i: Int) -> Int { range(of: i).count }

    /// Copies tokens at `positions` (shard-wide) into `out`.
    public func copyTokens(_ positions: Range<Int>, into out: UnsafeMutablePointer<Int32>) {
        precondition(positions.lowerBound >= 0 && positions.upperBound <= tokenCount)
        let bytes = tokens.bytes
        if info.dtype == .uint16 {
            for (k, p) in positions.enumerated() {
                out[k] = Int32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: p &* 2, as: UInt16.self)))
            }
        } else {
            for (k, p) in positions.enumerated() {
                out[k] = Int32(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: p &* 4, as: UInt32.self)))
            }
        }
    }

    /// Copies mask flags at `positions` into `out`.
    public func copyMask(_ positions: Range<Int>, into out: UnsafeMutablePointer<UInt8>) {
        precondition(positions.lowerBound >= 0 && positions.upperBound <= tokenCount)
        if positions.isEmpty { return }
        out.update(from: mask.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + positions.lowerBound, count: positions.count)
    }

    /// Example `i`, copied out.
    public subscript(i: Int) -> TokenizedExample {
        let r = range(of: i)
        var ids = [Int32](repeating: 0, count: r.count)
        var flags = [UInt8](repeating: 0, count: r.count)
        ids.withUnsafeMutableBufferPointer { if let p = $0.baseAddress { copyTokens(r, into: p) } }
        flags.withUnsafeMutableBufferPointer { if let p = $0.baseAddress { copyMask(r, into: p) } }
        return TokenizedExample(tokens: ids, mask: flags)
    }
}
