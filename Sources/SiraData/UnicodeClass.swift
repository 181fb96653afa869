/// The four character classes the pre-tokenizer regexes distinguish, decided per Unicode scalar:
/// letters (`\p{L}`: Lu, Ll, Lt, Lm, Lo), numbers (`\p{N}`: Nd, Nl, No), white space (`\s`, which
/// in the `tokenizers` library's regex engine is the Unicode White_Space set: TAB...CR, space, NEL,
/// NBSP, U+1680, U+2000...U+200A, U+2028, U+2029, U+202F, U+205F, U+3000) and everything else.
enum UnicodeClass: UInt8 {
    case other = 0, letter = 1, number = 2, space = 3

    /// Classes of U+0000...U+FFFF, computed once; higher planes are looked up directly (rare).
    static let basicPlane: [UInt8] = (0 ..< 0x10000).map { v -> UInt8 in
        guard let s = Unicode.Scalar(UInt32(v)) else { return UnicodeClass.other.rawValue }
        return compute(s).rawValue
    }

    static func of(_ value: UInt32) -> UnicodeClass {
        if value < 0x10000 { return UnicodeClass(rawValue: basicPlane[Int(value)])! }
        guard let s = Unicode.Scalar(value) else { return .other }
        return compute(s)
    }

    static func compute(_ s: Unicode.Scalar) -> UnicodeClass {
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }
}
