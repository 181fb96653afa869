/// Splits text into the pieces BPE merges within ("pre-tokens"), reproducing the regexes of the
/// `tokenizers` library by hand over UTF-8 bytes (no regex engine; one pass, no backtracking).
///
/// Steps run in order, each splitting the pieces of the previous one:
/// - `.gpt2` — GPT-2's ByteLevel regex
///   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`:
///   lowercase contractions; a letter, number or punctuation run with at most one leading ASCII
///   space; white-space runs, where a run followed by text leaves its last character to start the
///   next piece (so "a   b" is "a", "  ", " b").
/// - `.llama3(maxDigits:)` — the Llama-3 split regex
///   `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
///   (maxDigits 3; Qwen2's variant with `\p{N}` is maxDigits 1).
/// - `.digits(individual:)` — the library's Digits pre-tokenizer: each number character alone, or
///   runs of them, split from the rest.
/// Classes are those of `UnicodeClass`. `addPrefixSpace` puts a space before text that does not
/// start with one (ByteLevel's option; applied to each run of text between special tokens).
public struct PreTokenizer: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case gpt2
        case llama3(maxDigits: Int)
        case digits(individual: Bool)
    }

    public var steps: [Step]
    public var addPrefixSpace: Bool

    public init(steps: [Step], addPrefixSpace: Bool = false) {
        self.steps = steps
        self.addPrefixSpace = addPrefixSpace
    }

    public static let gpt2 = PreTokenizer(steps: [.gpt2])
    public static let llama3 = PreTokenizer(steps: [.llama3(maxDigits: 3)])

    /// The pieces of `text` (for tests and tools; encoding uses `split` on bytes).
    public func pieces(_ text: String) -> [String] {
        var bytes = Array(text.utf8)
        if addPrefixSpace, !bytes.isEmpty, bytes.first != 0x20 { bytes.insert(0x20, at: 0) }
        var out: [String] = []
        bytes.withUnsafeBufferPointer { buf in
            split(buf.baseAddress!, 0, buf.count) { s, e in
                out.append(String(decoding: UnsafeBufferPointer(rebasing: buf[s ..< e]), as: UTF8.self))
            }
        }
        return out
    }

    /// Calls `emit(start, end)` for each piece of `p[start..<end]` (valid UTF-8), in order; the
    /// pieces tile the range exactly.
    func split(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ emit: (Int, Int) -> Void) {
        guard start < end else { return }
        UnicodeClass.basicPlane.withUnsafeBufferPointer { table in
            let scanner = ScalarScanner(p: p, table: table.baseAddress!)
            run(0, scanner, start, end, emit)
        }
    }

    private func run(_ k: Int, _ s: ScalarScanner, _ start: Int, _ end: Int, _ emit: (Int, Int) -> Void) {
        if k == steps.count {
            emit(start, end)
            return
        }
        if k == steps.count - 1 {
            apply(steps[k], s, start, end, emit)
        } else {
            apply(steps[k], s, start, end) { a, b in run(k + 1, s, a, b, emit) }
        }
    }

    private func apply(_ step: Step, _ s: ScalarScanner, _ start: Int, _ end: Int, _ emit: (Int, Int) -> Void) {
        switch step {
        case .gpt2: s.splitGPT2(start, end, emit)
        case let .llama3(maxDigits): s.splitLlama3(start, end, maxDigits: maxDigits, emit)
        case let .digits(individual): s.splitDigits(start, end, individual: individual, emit)
        }
    }
}

/// Decodes scalars from valid UTF-8 and classifies them; the split loops of each regex.
struct ScalarScanner {
    let p: UnsafePointer<UInt8>
    let table: UnsafePointer<UInt8>

    @inline(__always) func scalar(_ i: Int) -> (value: UInt32, length: Int) { decodeScalar(p, i) }

    @inline(__always) func cls(_ v: UInt32) -> UInt8 {
        v < 0x10000 ? table[Int(v)] : UnicodeClass.of(v).rawValue
    }

    /// End of the run of scalars of class `c` starting at `i`.
    @inline(__always) func run(_ c: UInt8, from i: Int, _ end: Int) -> Int {
        var j = i
        while j < end {
            let (v, l) = scalar(j)
            if cls(v) != c { break }
            j &+= l
        }
        return j
    }

    private static let letter = UnicodeClass.letter.rawValue
    private static let number = UnicodeClass.number.rawValue
    private static let space = UnicodeClass.space.rawValue
    private static let other = UnicodeClass.other.rawValue

    /// Length of a contraction ('s 't 'm 'd 're 've 'll) at `i` (which holds an apostrophe), or 0.
    @inline(__always) func contraction(_ i: Int, _ end: Int, caseInsensitive: Bool) -> Int {
        guard i + 1 < end else { return 0 }
        let fold: UInt8 = caseInsensitive ? 0x20 : 0
        let c1 = p[i + 1] | (p[i + 1] >= 0x41 && p[i + 1] <= 0x5A ? fold : 0)
        switch c1 {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "l"):
            guard i + 2 < end else { return 0 }
            let c2 = p[i + 2] | (p[i + 2] >= 0x41 && p[i + 2] <= 0x5A ? fold : 0)
            if c1 == UInt8(ascii: "l") { return c2 == UInt8(ascii: "l") ? 3 : 0 }
            return c2 == UInt8(ascii: "e") ? 3 : 0
        default: return 0
        }
    }

    /// The white-space rules shared by both regexes, `\s+(?!\S)|\s+`, at `i` (a space scalar):
    /// the whole run if it reaches the end or is one scalar, else the run minus its last scalar.
    @inline(__always) func whitespace(_ i: Int, _ end: Int, newlines: Bool) -> Int {
        var j = i
        var lastStart = i
        var afterNewline = -1
        while j < end {
            let (v, l) = scalar(j)
            if cls(v) != Self.space { break }
            lastStart = j
            j &+= l
            if newlines, v == 0x0A || v == 0x0D { afterNewline = j }
        }
        if afterNewline > 0 { return afterNewline } // `\s*[\r\n]+`
        if j == end || lastStart == i { return j }
        return lastStart
    }

    func splitGPT2(_ start: Int, _ end: Int, _ emit: (Int, Int) -> Void) {
        var i = start
        while i < end {
            let (v0, l0) = scalar(i)
            var j: Int
            if v0 == 0x27, case let n = contraction(i, end, caseInsensitive: false), n > 0 {
                j = i + n
            } else {
                let c0 = cls(v0)
                if c0 != Self.space {
                    j = run(c0, from: i + l0, end)
                } else if v0 == 0x20, i + 1 < end, case let (v1, l1) = scalar(i + 1), case let c1 = cls(v1), c1 != Self.space {
                    j = run(c1, from: i + 1 + l1, end)
                } else {
                    j = whitespace(i, end, newlines: false)
                }
            }
            emit(i, j)
            i = j
        }
    }

    func splitLlama3(_ start: Int, _ end: Int, maxDigits: Int, _ emit: (Int, Int) -> Void) {
        var i = start
        while i < end {
            let (v0, l0) = scalar(i)
            let c0 = cls(v0)
            var j: Int
            if v0 == 0x27, case let n = contraction(i, end, caseInsensitive: true), n > 0 {
                j = i + n
            } else if c0 == Self.letter {
                j = run(Self.letter, from: i + l0, end)
            } else if c0 != Self.number, v0 != 0x0A, v0 != 0x0D, i + l0 < end,
                      case let (v1, l1) = scalar(i + l0), cls(v1) == Self.letter
            {
                j = run(Self.letter, from: i + l0 + l1, end)
            } else if c0 == Self.number {
                j = i + l0
                var count = 1
                while count < maxDigits, j < end {
                    let (v, l) = scalar(j)
                    if cls(v) != Self.number { break }
                    j += l
                    count += 1
                }
            } else if c0 == Self.other || (v0 == 0x20 && i + 1 < end && cls(scalar(i + 1).value) == Self.other) {
                j = run(Self.other, from: c0 == Self.other ? i + l0 : i + 1, end)
                while j < end, p[j] == 0x0A || p[j] == 0x0D { j += 1 }
            } else {
                j = whitespace(i, end, newlines: true)
            }
            emit(i, j)
            i = j
        }
    }

    func splitDigits(_ start: Int, _ end: Int, individual: Bool, _ emit: (Int, Int) -> Void) {
        var i = start
        var pieceStart = start
        while i < end {
            let (v, l) = scalar(i)
            if cls(v) == Self.number {
                if pieceStart < i { emit(pieceStart, i) }
                let j = individual ? i + l : run(Self.number, from: i + l, end)
                emit(i, j)
                i = j
                pieceStart = j
            } else {
                i += l
            }
        }
        if pieceStart < end { emit(pieceStart, end) }
    }
}
