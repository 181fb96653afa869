import Foundation
import Testing
@testable import SiraData

/// A small deterministic corpus: English-like sentences plus the multilingual sample.
func smallCorpus() -> [String] {
    var rng = TestRNG(seed: 21)
    let words = ["the", "a", "tokenizer", "merges", "byte", "pairs", "it's", "we'll", "data", "model", "train", "Hello",
                 "world", "1234", "3.14", "naïve", "café", "日本語", "テキスト", "привет", "мир", "مرحبا", "😀", "👋🏽", "—", "!", "?"]
    var texts: [String] = [multilingualSample]
    for _ in 0 ..< 300 {
        let n = Int.random(in: 3 ..< 20, using: &rng)
        texts.append((0 ..< n).map { _ in words[Int.random(in: 0 ..< words.count, using: &rng)] }.joined(separator: Bool.random(using: &rng) ? " " : "  "))
    }
    return texts
}

/// The textbook BPE encoder, independent of `BPEMerger`: symbols are byte strings, the pair with
/// the lowest rank (leftmost among equals) is merged until none has a rank.
func naiveEncode(_ text: String, _ tok: BPETokenizer) -> [Int] {
    var rank: [[UInt8]: Int] = [:]
    for (r, m) in tok.mergeList.enumerated() {
        let key = Array(tok.bytes(of: m.left)) + [0xFF, 0xFE] + Array(tok.bytes(of: m.right))
        if rank[key] == nil { rank[key] = r }
    }
    var idOf: [[UInt8]: Int] = [:]
    for id in 0 ..< tok.vocabSize where tok.inModelVocab[id] { idOf[Array(tok.bytes(of: Int32(id)))] = id }
    var out: [Int] = []
    var segments: [(String, Int?)] = [] // text or added token
    var rest = Substring(text)
    outer: while !rest.isEmpty {
        var bestStart: String.Index?
        var bestToken: AddedToken?
        for t in tok.addedTokens {
            if let r = rest.range(of: t.content) {
                let s = r.lowerBound
                if bestStart == nil || s < bestStart! || (s == bestStart! && t.content.utf8.count > bestToken!.content.utf8.count) {
                    bestStart = s
                    bestToken = t
                }
            }
        }
        guard let s = bestStart, let t = bestToken else {
            segments.append((String(rest), nil))
            break outer
        }
        if s > rest.startIndex { segments.append((String(rest[..<s]), nil)) }
        segments.append(("", t.id))
        rest = rest[rest.index(s, offsetBy: t.content.count)...]
    }
    for (segment, special) in segments {
        if let special {
            out.append(special)
            continue
        }
        for piece in tok.preTokenizer.pieces(segment) {
            var symbols = Array(piece.utf8).map { [$0] }
            while symbols.count > 1 {
                var best: (rank: Int, pos: Int)?
                for i in 0 ..< symbols.count - 1 {
                    if let r = rank[symbols[i] + [0xFF, 0xFE] + symbols[i + 1]], best == nil || r < best!.rank { best = (r, i) }
                }
                guard let b = best else { break }
                symbols[b.pos] += symbols[b.pos + 1]
                symbols.remove(at: b.pos + 1)
            }
            out += symbols.map { idOf[$0]! }
        }
    }
    return out
}

@Test func trainingMergesHandComputedPairs() {
    // "ab ab ab abc" pre-tokenizes to ab, ␣ab ×2, ␣abc: (a,b) occurs 4 times, then (␣,ab) 3 times,
    // then nothing twice.
    let tok = BPETokenizer.train(texts: ["ab ab ab abc"], vocabSize: 1000, minFrequency: 2)
    #expect(tok.mergeList.map { [$0.left, $0.right, $0.merged] } == [[97, 98, 256], [32, 256, 257]])
    #expect(tok.vocabSize == 258 + SpecialTokens.all.count)
    #expect(tok.bosID == 258 && tok.eosID == 259 && tok.padID == 260)
    #expect(tok.encode("ab abc") == [256, 257, 99])
    // All counts 1: ties go to the smaller (left, right): (␣,c) < (a,b) < (␣c,d).
    let ties = BPETokenizer.train(texts: ["ab cd"], vocabSize: 1000, minFrequency: 1)
    #expect(ties.mergeList.map { [$0.left, $0.right] } == [[32, 99], [97, 98], [256, 100]])
    // The vocabulary size is a cap, specials included.
    let capped = BPETokenizer.train(texts: ["ab ab ab abc"], vocabSize: 256 + 6 + 1)
    #expect(capped.mergeList.count == 1 && capped.vocabSize == 263)
}

@Test func trainingIsDeterministicAcrossThreadCounts() {
    let corpus = smallCorpus()
    let one = BPETokenizer.train(texts: corpus, vocabSize: 700, threads: 1)
    let two = BPETokenizer.train(texts: corpus.reversed(), vocabSize: 700, threads: 2)
    #expect(one.mergeList == two.mergeList)
    #expect(JSONWriter.serialize(one.tokenizerJSON()) == JSONWriter.serialize(two.tokenizerJSON()))
    #expect(one.mergeList.count > 150 && one.mergeList.count <= 700 - 256 - 6)
}

@Test func encodeMatchesTheNaiveReferenceAndRoundTrips() {
    let tok = BPETokenizer.train(texts: smallCorpus(), vocabSize: 600)
    var rng = TestRNG(seed: 17)
    var texts = ["", " ", "\n", "the tokenizer merges byte pairs", multilingualSample,
                 "<|bos|>x<|eos|><|user|>hi<|assistant|><|bos", "<<|pad|>|pad|>",
                 String(repeating: "the", count: 150), String(repeating: "a", count: 1001), String(repeating: "ab ", count: 97)]
    for n in [1, 7, 33, 129, 400] {
        for _ in 0 ..< 8 { texts.append(randomUnicodeText(&rng, length: n)) }
    }
    for text in texts {
        let ids = tok.encode(text)
        #expect(ids == naiveEncode(text, tok), "\(text.debugDescription)")
        #expect(Array(tok.decode(ids).utf8) == Array(text.utf8), "\(text.debugDescription)")
        #expect(tok.decodeBytes(ids) == Array(text.utf8))
    }
    #expect(tok.encode("<|bos|>x<|eos|>").first == tok.bosID)
    #expect(tok.decode(tok.encode("<|bos|>x<|eos|>"), skipSpecialTokens: true) == "x")
    // The batch encoder gives the same ids on all cores.
    let batch = tok.encodeBatch(texts, threads: 2)
    #expect(batch.map { $0.map(Int.init) } == texts.map { tok.encode($0) })
}

@Test func exampleEncodingMasksThePrompt() {
    let tok = BPETokenizer.train(texts: smallCorpus(), vocabSize: 600)
    let e = tok.encode(Example(prompt: "<|user|>Hello world<|assistant|>", completion: "Hi there"))
    let prompt = tok.encode("<|user|>Hello world<|assistant|>").map(Int32.init)
    let completion = tok.encode("Hi there").map(Int32.init)
    #expect(e.tokens == [Int32(tok.bosID)] + prompt + completion + [Int32(tok.eosID)])
    #expect(e.mask == [UInt8](repeating: 0, count: 1 + prompt.count) + [UInt8](repeating: 1, count: completion.count + 1))
    #expect(prompt.first == Int32(tok.id(of: "<|user|>")!))
    let lm = tok.encode(Example(text: "just text"))
    #expect(lm.mask == [0] + [UInt8](repeating: 1, count: lm.tokens.count - 1))
}

/// Brute-force BPE training: recount every pair of every word after each merge.
private func naiveTrain(_ texts: [String], merges: Int, minFrequency: Int) -> [[Int32]] {
    var counts: [[UInt8]: Int] = [:]
    for t in texts {
        for piece in PreTokenizer.gpt2.pieces(t) { counts[Array(piece.utf8), default: 0] += 1 }
    }
    var words = counts.map { (symbols: $0.key.map { Int32($0) }, count: $0.value) }
    var learned: [[Int32]] = []
    while learned.count < merges {
        var pairCounts: [[Int32]: Int] = [:]
        for w in words where w.symbols.count > 1 {
            for i in 0 ..< w.symbols.count - 1 { pairCounts[[w.symbols[i], w.symbols[i + 1]], default: 0] += w.count }
        }
        guard let best = pairCounts.max(by: { x, y in
            x.value != y.value ? x.value < y.value : (x.key[0], x.key[1]) > (y.key[0], y.key[1])
        }), best.value >= minFrequency else { break }
        let merged = Int32(256 + learned.count)
        learned.append(best.key)
        for k in words.indices {
            var out: [Int32] = []
            var i = 0
            let s = words[k].symbols
            while i < s.count {
                if i + 1 < s.count, s[i] == best.key[0], s[i + 1] == best.key[1] {
                    out.append(merged)
                    i += 2
                } else {
                    out.append(s[i])
                    i += 1
                }
            }
            words[k].symbols = out
        }
    }
    return learned
}

@Test func trainingMatchesABruteForceTrainer() {
    var rng = TestRNG(seed: 31)
    // Repetitive text (runs like "aaaa", overlapping pairs) plus the small corpus.
    var texts = Array(smallCorpus().prefix(60))
    for _ in 0 ..< 40 {
        texts.append((0 ..< 12).map { _ in String(repeating: ["a", "ab", "ba", "x"][Int.random(in: 0 ..< 4, using: &rng)], count: Int.random(in: 1 ... 5, using: &rng)) }
            .joined(separator: " "))
    }
    let tok = BPETokenizer.train(texts: texts, vocabSize: 256 + 6 + 120, minFrequency: 2, threads: 2)
    #expect(tok.mergeList.count > 60)
    #expect(tok.mergeList.map { [$0.left, $0.right] } == naiveTrain(texts, merges: 120, minFrequency: 2))
}
