import Foundation
import Testing
@testable import SiraData

@Test func gpt2PreTokenizerHandComputedCases() {
    let p = PreTokenizer.gpt2
    #expect(p.pieces("Hello world!") == ["Hello", " world", "!"])
    #expect(p.pieces("it's we'll they've I'm you'd DON'T") == ["it", "'s", " we", "'ll", " they", "'ve", " I", "'m", " you", "'d", " DON", "'", "T"])
    #expect(p.pieces("a   b") == ["a", "  ", " b"])
    #expect(p.pieces("x  \n\n y \t") == ["x", "  \n\n", " y", " \t"])
    #expect(p.pieces("price: $12.50!!") == ["price", ":", " $", "12", ".", "50", "!!"])
    #expect(p.pieces(" ?'s") == [" ?'", "s"])
    #expect(p.pieces("e\u{301}x") == ["e", "\u{301}", "x"]) // a combining mark is not a letter
    #expect(p.pieces("日本語 テキスト") == ["日本語", " テキスト"])
    #expect(p.pieces("a\u{A0}\u{A0}b") == ["a", "\u{A0}", "\u{A0}", "b"])
    #expect(p.pieces("") == [])
    #expect(p.pieces(" ") == [" "])
}

@Test func llama3PreTokenizerHandComputedCases() {
    let p = PreTokenizer.llama3
    #expect(p.pieces("Hello world!") == ["Hello", " world", "!"])
    #expect(p.pieces("IT'S 12345 ?abc") == ["IT", "'S", " ", "123", "45", " ?", "abc"])
    #expect(p.pieces("a\n\n  b") == ["a", "\n\n", " ", " b"])
    #expect(p.pieces("x?!\n\ny") == ["x", "?!\n\n", "y"])
    #expect(p.pieces("\tword \nnext") == ["\tword", " \n", "next"])
}

/// Random strings and the sample through our pre-tokenizers and the `tokenizers` library's
/// (ByteLevel regex; Split with the Llama-3 regex; Digits + ByteLevel): identical pieces.
@Test func preTokenizersMatchTheTokenizersLibrary() throws {
    var rng = TestRNG(seed: 99)
    var texts = [multilingualSample, "", " ", "  a", "'s'S'll'LL 'x", "1234567 ١٢٣٤٥", "\r\n\r\n x\r\n", "\u{85}\u{2028}a\u{3000} b"]
    for n in [1, 7, 33, 129, 300] {
        for _ in 0 ..< 6 { texts.append(randomUnicodeText(&rng, length: n)) }
    }
    let dir = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("texts.json")
    try write(JSONWriter.serialize(.array(texts.map(JSONValue.string))), input)
    let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    let output = try runPython(#"""
    import json, sys
    from tokenizers import pre_tokenizers, Regex
    texts = json.load(open(sys.argv[1], encoding='utf-8'))
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    blp = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    sp = pre_tokenizers.Split(Regex(sys.argv[2]), behavior='isolated', invert=False)
    qw = pre_tokenizers.Split(Regex(sys.argv[3]), behavior='isolated', invert=False)
    dg = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), bl])
    out = []
    for t in texts:
        out.append([[p for p, _ in x.pre_tokenize_str(t)] for x in (bl, sp, dg, blp, qw)])
    json.dump(out, sys.stdout, ensure_ascii=True)
    """#, arguments: [input.path, llama3Regex, BPETokenizer.qwen2Regex])
    guard case let .array(results) = try JSONParser.parse(output) else { Issue.record("bad output"); return }
    let ours: [PreTokenizer] = [.gpt2, .llama3, PreTokenizer(steps: [.digits(individual: true), .gpt2]),
                                PreTokenizer(steps: [.gpt2], addPrefixSpace: true), PreTokenizer(steps: [.llama3(maxDigits: 1)])]
    var mismatches = 0
    for (t, text) in texts.enumerated() {
        for (k, pre) in ours.enumerated() {
            let theirs = results[t].arrayValue![k].arrayValue!.map { $0.stringValue! }
            var mine = pre.pieces(text)
            if k != 1, k != 4 { mine = mine.map { ByteLevelAlphabet.encode($0.utf8) } }
            if mine != theirs {
                mismatches += 1
                if mismatches < 4 { Issue.record("pre-tokenizer \(k) differs on \(text.debugDescription):\nours   \(mine)\ntheirs \(theirs)") }
            }
        }
    }
    #expect(mismatches == 0)
}
