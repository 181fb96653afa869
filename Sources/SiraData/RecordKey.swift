import SiraIO

/// The identity of a record for deduplication and the train/eval split.
///
/// Two records are duplicates when they are equal after white-space normalisation: every run of
/// Unicode white space becomes one space and the ends are trimmed, in prompt and completion
/// separately (so "a  b" and " a b\n" are one record, "ab" is another). The key is the SHA-256 of
/// `<byte length of prompt>:<prompt><completion>` (normalised, UTF-8): a record's split depends on
/// nothing but its own content, which is what makes the split stable when rows are reordered or
/// appended.
public struct RecordKey: Hashable, Sendable {
    /// The first 128 bits of the SHA-256 (enough to make accidental collisions negligible).
    public let high: UInt64
    public let low: UInt64

    public init(_ example: Example) {
        let p = RecordKey.normalizeWhitespace(example.prompt)
        let c = RecordKey.normalizeWhitespace(example.completion)
        var bytes = Array("\(p.count):".utf8)
        bytes.reserveCapacity(bytes.count + p.count + c.count)
        bytes += p
        bytes += c
        let hex = Array(ContentHash.sha256(bytes).utf8)
        high = RecordKey.parseHex(hex[0 ..< 16])
        low = RecordKey.parseHex(hex[16 ..< 32])
    }

    /// True when the record belongs to the evaluation split: the first 64 bits of its hash, read
    /// as a fraction of 2^64, fall below `evalFraction`.
    public func isEval(fraction: Double) -> Bool {
        Double(high >> 11) * 0x1p-53 < fraction
    }

    /// UTF-8 of `s` with white-space runs collapsed to one space and the ends trimmed.
    public static func normalizeWhitespace(_ s: String) -> [UInt8] {
        var s = s
        return s.withUTF8 { buf in
            var out: [UInt8] = []
            out.reserveCapacity(buf.count)
            guard let p = buf.baseAddress else { return out }
            var pendingSpace = false
            var i = 0
            let n = buf.count
            while i < n {
                let b = p[i]
                let length = utf8Length(b)
                let space = b < 0x80 ? isASCIIWhitespace(b) : UnicodeClass.of(decodeScalar(p, i).value) == .space
                if space {
                    pendingSpace = !out.isEmpty
                } else {
                    if pendingSpace {
                        out.append(0x20)
                        pendingSpace = false
                    }
                    out.append(contentsOf: UnsafeBufferPointer(start: p + i, count: length))
                }
                i += length
            }
            return out
        }
    }

    private static func parseHex(_ digits: ArraySlice<UInt8>) -> UInt64 {
        var v: UInt64 = 0
        for d in digits {
            v = v << 4 | UInt64(d <= 0x39 ? d - 0x30 : d - 0x61 + 10)
        }
        return v
    }
}
