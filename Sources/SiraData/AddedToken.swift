import Foundation

/// A token matched in the raw text before pre-tokenization and never split (the `tokenizers`
/// library's "added tokens"): the special tokens, and any extra words a tokenizer.json declares.
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    /// Special tokens are left out by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool
    /// White space before (lstrip) or after (rstrip) the token is absorbed into it.
    public var lstrip: Bool
    public var rstrip: Bool

    public init(id: Int, content: String, special: Bool = true, lstrip: Bool = false, rstrip: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
    }
}

/// Finds added tokens in UTF-8 text: at the leftmost position where any token starts, the longest
/// one wins (the library's leftmost-longest matching). Candidates are found through a table of
/// first bytes, so text without those bytes costs one table lookup per byte.
struct AddedTokenMatcher: Sendable {
    private let tokens: [(bytes: [UInt8], id: Int32, lstrip: Bool, rstrip: Bool)]
    /// Token indices grouped by first byte, longest first: byte b's candidates are
    /// `candidates[firstIndex[b] ..< firstIndex[b + 1]]`.
    private let candidates: [Int]
    private let firstIndex: [Int]
    /// The only first byte of all tokens (e.g. '<'), so candidates are found with memchr; -1 if several.
    private let singleFirstByte: Int
    let isEmpty: Bool

    init(_ added: [AddedToken]) {
        let list = added.filter { !$0.content.isEmpty }
            .map { (bytes: Array($0.content.utf8), id: Int32($0.id), lstrip: $0.lstrip, rstrip: $0.rstrip) }
        var flat: [Int] = []
        var first: [Int] = [0]
        for b in 0 ..< 256 {
            let group = list.indices.filter { list[$0].bytes[0] == UInt8(b) }.sorted { list[$0].bytes.count > list[$1].bytes.count }
            flat += group
            first.append(flat.count)
        }
        tokens = list
        candidates = flat
        firstIndex = first
        let distinct = Set(list.map { $0.bytes[0] })
        singleFirstByte = distinct.count == 1 ? Int(distinct.first!) : -1
        isEmpty = list.isEmpty
    }

    /// Calls `text(start, end)` for each stretch of ordinary text and `token(id)` for each added
    /// token, in order, covering `p[0..<n]` (white space absorbed by lstrip/rstrip is dropped).
    func split(_ p: UnsafePointer<UInt8>, _ n: Int, text: (Int, Int) -> Void, token: (Int32) -> Void) {
        if isEmpty {
            if n > 0 { text(0, n) }
            return
        }
        var segmentStart = 0
        var i = 0
        while i < n {
            if singleFirstByte >= 0 {
                guard let hit = memchr(p + i, Int32(singleFirstByte), n - i) else { break }
                i = UnsafeRawPointer(p).distance(to: UnsafeRawPointer(hit))
            }
            let b = Int(p[i])
            var matched = -1
            for k in firstIndex[b] ..< firstIndex[b + 1] {
                let t = tokens[candidates[k]]
                if t.bytes.count <= n - i, t.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, p + i, t.bytes.count) }) == 0 {
                    matched = candidates[k]
                    break
                }
            }
            if matched < 0 {
                i += 1
                continue
            }
            let t = tokens[matched]
            var start = i
            var end = i + t.bytes.count
            if t.lstrip { start = whitespaceStart(p, segmentStart, start) }
            if t.rstrip { end = whitespaceEnd(p, end, n) }
            if start > segmentStart { text(segmentStart, start) }
            token(t.id)
            segmentStart = end
            i = end
        }
        if segmentStart < n { text(segmentStart, n) }
    }

    /// Start of the white-space run that ends at `end` (not before `floor`).
    private func whitespaceStart(_ p: UnsafePointer<UInt8>, _ floor: Int, _ end: Int) -> Int {
        var i = end
        while i > floor {
            var s = i - 1
            while s > floor, p[s] & 0xC0 == 0x80 { s -= 1 }
            guard isWhitespace(p, s) else { break }
            i = s
        }
        return i
    }

    private func whitespaceEnd(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int) -> Int {
        var i = start
        while i < n, isWhitespace(p, i) {
            i += utf8Length(p[i])
        }
        return i
    }

    private func isWhitespace(_ p: UnsafePointer<UInt8>, _ i: Int) -> Bool {
        UnicodeClass.of(decodeScalar(p, i).value) == .space
    }
}

/// The scalar starting at `p[i]` in valid UTF-8 and its length in bytes.
@inline(__always) func decodeScalar(_ p: UnsafePointer<UInt8>, _ i: Int) -> (value: UInt32, length: Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), 2) }
    if b0 < 0xF0 { return ((b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F), 3) }
    return ((b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F), 4)
}

@inline(__always) func utf8Length(_ lead: UInt8) -> Int {
    lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
}
