import SiraIO
import Foundation
@testable import SiraData

/// A fresh folder under the system temporary directory, removed by the caller.
func scratchFolder(_ label: String = "siradata") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func write(_ bytes: [UInt8], _ url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
}

func write(_ text: String, _ url: URL) throws {
    try write(Array(text.utf8), url)
}

/// SplitMix64: a tiny deterministic generator so randomised tests reproduce exactly.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random text drawn from a mix of scripts and awkward characters: ASCII, Latin with combining
/// marks, Greek, Cyrillic, Arabic, Hebrew, Devanagari, CJK, Hangul, emoji (with ZWJ and skin-tone
/// modifiers), control characters, unusual white space, digits of several scripts.
func randomUnicodeText(_ rng: inout TestRNG, length: Int) -> String {
    let pools: [[UInt32]] = [
        Array(0x20 ... 0x7E), Array(0x20 ... 0x7E), Array(0x61 ... 0x7A),
        [0x20, 0x20, 0x20, 0x0A, 0x09, 0x0D, 0x0B, 0x0C, 0x85, 0xA0, 0x1680, 0x2000, 0x2028, 0x2029, 0x202F, 0x3000, 0x200B, 0xFEFF],
        [0x00, 0x01, 0x07, 0x1B, 0x1F, 0x7F, 0x80, 0x9F, 0xAD],
        Array(0xC0 ... 0x17F), Array(0x300 ... 0x36F), Array(0x391 ... 0x3C9), Array(0x410 ... 0x44F),
        Array(0x621 ... 0x64A), Array(0x660 ... 0x669), Array(0x5D0 ... 0x5EA), Array(0x905 ... 0x939), Array(0x966 ... 0x96F),
        Array(0x4E00 ... 0x4FFF), Array(0x3041 ... 0x3096), Array(0xAC00 ... 0xAD00), Array(0xFF10 ... 0xFF5A),
        Array(0x1F600 ... 0x1F64F), [0x1F3FB, 0x1F3FD, 0x200D, 0xFE0F, 0x2764, 0x1F468, 0x1F469, 0x1F467],
        [0x2160, 0x2161, 0x2170, 0x00B2, 0x00BD, 0x2155, 0x1D7CE, 0x10400, 0x1F1E9, 0x1F1EA],
        [0x27, 0x27, 0x73, 0x74, 0x6C, 0x64, 0x6D, 0x72, 0x65, 0x76, 0x53, 0x4C],
    ]
    var s = String.UnicodeScalarView()
    for _ in 0 ..< length {
        let pool = pools[Int.random(in: 0 ..< pools.count, using: &rng)]
        s.append(Unicode.Scalar(pool[Int.random(in: 0 ..< pool.count, using: &rng)])!)
    }
    return String(s)
}

/// The multilingual text used for tokenizer comparisons with the `tokenizers` library.
let multilingualSample = """
Hello world! It's a test: we'll see, they've gone, I'm here, you'd know, she's ok. DON'T SHOUT'S
Numbers 12345 3.14159 1,000,000 and ١٢٣٤ ٥٦٧ and ⅔ ½ ²³ 𝟘𝟙𝟚
Emoji 👋🏽 👨‍👩‍👧‍👦 ❤️ 🇩🇪 🙂🙃   tabs\there\t\tand  spaces   end   
日本語のテキストと中文文本，한국어 텍스트도 있습니다。
Combining: e\u{301} a\u{308}\u{304} Z\u{335}\u{30C}\u{31E} café naïve
العربية: مرحبا بالعالم، كيف حالك؟ עברית: שלום עולם
Ελληνικά και кириллица: Привет, мир! Ünïcödé «quotes» „German“ ‘single’
Control: \u{01}\u{07}\u{1B}[0m\u{7F} nbsp:\u{A0}x thin:\u{2009}y ideographic:\u{3000}z
Line\r\nbreaks\rmixed\u{2028}sep\u{85}nel


  indented code(x) { return x->y ?? [1, 2]; } // $$$ %%% ^^^ ___ ---
"""
