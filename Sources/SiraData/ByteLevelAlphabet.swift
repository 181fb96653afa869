/// GPT-2's byte-to-character mapping: every byte gets a printable Unicode character so token
/// strings in `tokenizer.json` are readable text. Printable Latin-1 bytes ('!'...'~', '¡'...'¬',
/// '®'...'ÿ') map to themselves; the other 68 bytes (controls, space, DEL, NBSP, soft hyphen) map to
/// U+0100, U+0101, ... in byte order — so a space is 'Ġ' (U+0120) and a newline 'Ċ' (U+010A).
public enum ByteLevelAlphabet {
    /// `character[b]` is the scalar that stands for byte `b`.
    public static let character: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0 ..< 256 {
            if (0x21 ... 0x7E).contains(b) || (0xA1 ... 0xAC).contains(b) || (0xAE ... 0xFF).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte a scalar stands for, or nil if it is not one of the 256 characters.
    public static func byte(of scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        guard v < 324 else { return nil }
        let b = reverse[Int(v)]
        return b < 0 ? nil : UInt8(b)
    }

    private static let reverse: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in character.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// The byte-level string of raw bytes (how a token is written in tokenizer.json).
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(character[Int(b)]) }
        return String(s)
    }

    /// The raw bytes of a byte-level string, or nil if it holds a character outside the alphabet.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            guard let b = byte(of: s) else { return nil }
            out.append(b)
        }
        return out
    }
}
