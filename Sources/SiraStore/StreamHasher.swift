import Crypto

/// SHA-256 over raw buffers without copying them: packages hash hundreds of MB per second, and
/// `ContentHasher`'s generic path copies each chunk first. Same digests, same lowercase hex.
struct StreamHasher {
    private var hasher = SHA256()

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    func finalize() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in hasher.finalize() {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The hash of a whole buffer.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> String {
        var h = StreamHasher()
        h.update(bytes)
        return h.finalize()
    }
}
