import Crypto
import Foundation

/// SHA-256 content hashes as lowercase hex: the identity of datasets, artifacts, packages and cache
/// keys. Files are hashed in 1 MiB chunks so a multi-GB file never sits in memory.
public enum ContentHash {
    public static func sha256(_ bytes: some Collection<UInt8>) -> String {
        hex(SHA256.hash(data: Array(bytes)))
    }

    public static func sha256(_ text: String) -> String {
        sha256(Array(text.utf8))
    }

    /// Only a regular file is opened (`NotARegularFile` otherwise): hashing a FIFO or a device
    /// would block or never end.
    public static func sha256(file url: URL) throws -> String {
        try RegularFile.require(url.path)
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hex(hasher.finalize())
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        var out = ""
        out.reserveCapacity(64)
        for byte in digest {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 15)])
        }
        return out
    }

    private static let hexDigits = Array("0123456789abcdef")
}

/// Incremental SHA-256 for content assembled piece by piece (cache keys, streamed writes).
public struct ContentHasher {
    private var hasher = SHA256()
    public init() {}
    public mutating func update(_ bytes: some Collection<UInt8>) { hasher.update(data: Array(bytes)) }
    public mutating func update(_ text: String) { update(Array(text.utf8)) }
    /// Raw memory (a tensor's values) without copying it.
    public mutating func update(raw: UnsafeRawBufferPointer) { hasher.update(bufferPointer: raw) }
    public func finalize() -> String { ContentHash.hex(hasher.finalize()) }
}
