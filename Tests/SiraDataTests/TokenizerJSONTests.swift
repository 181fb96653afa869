import Foundation
import Testing
@testable import SiraData

/// Texts the two implementations must agree on: the multilingual sample, special tokens inside
/// text, edge cases, and random strings over many scripts, emoji, combining marks and controls.
private func comparisonTexts() -> [String] {
    var rng = TestRNG(seed: 2024)
    var texts = [multilingualSample, "", " ", "  leading", "trailing  ", "\n\n\n", "<|eos|>", "a<|user|>b<|assistant|>c<|eos|>",
                 "<|endoftext|>hello<|im_start|> world", "x <mask> y", "1234567890 ١٢٣٤٥٦٧", "I'VE WE'LL it's'S",
                 String(repeating: "z", count: 500), String(repeating: "ab", count: 300)]
    for n in [1, 7, 33, 129, 257] {
        for _ in 0 ..< 5 { texts.append(randomUnicodeText(&rng, length: n)) }
    }
    return texts
}

private let pythonReference = #"""
import json, sys
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, Regex, AddedToken

texts = json.load(open(sys.argv[1], encoding='utf-8'))
corpus = json.load(open(sys.argv[2], encoding='utf-8'))
ours = sys.argv[3]
out_dir = sys.argv[4]
llama3 = sys.argv[5]
result = {}

def encode_all(tok):
    return [tok.encode(t, add_special_tokens=False).ids for t in texts]

# A: the library reads our export; its ids and its decoding must equal ours.
mine = Tokenizer.from_file(ours)
result['ours'] = encode_all(mine)
result['ours_decoded'] = [mine.decode(ids, skip_special_tokens=False) for ids in result['ours']]

def train(name, pre, ignore_merges=False, specials=("<|endoftext|>", "<|im_start|>"), extra=()):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=520, min_frequency=2, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=list(specials), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    if extra:
        tok.add_special_tokens(list(extra))
    tok.save(f"{out_dir}/{name}.json")
    result[name] = encode_all(tok)
    return tok

bl = lambda prefix=False, regex=True: pre_tokenizers.ByteLevel(add_prefix_space=prefix, use_regex=regex)
train('gpt2', bl())
train('llama3', pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(llama3), behavior='isolated', invert=False), bl(regex=False)]),
      ignore_merges=True, specials=("<|begin_of_text|>", "<|end_of_text|>"))
train('smollm', pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), bl()]))
train('prefix', bl(prefix=True), specials=("<s>", "</s>"), extra=(AddedToken("<mask>", lstrip=True, special=True),))

# The same GPT-2 tokenizer with merges written as "left right" strings (older files).
d = json.load(open(f"{out_dir}/gpt2.json", encoding='utf-8'))
d['model']['merges'] = [' '.join(m) for m in d['model']['merges']]
json.dump(d, open(f"{out_dir}/gpt2_strings.json", 'w', encoding='utf-8'), ensure_ascii=False)
json.dump(result, sys.stdout)
"""#

@Test func tokenizersLibraryAgreesWithUsBothWays() throws {
    let dir = try scratchFolder("tokjson")
    defer { try? FileManager.default.removeItem(at: dir) }
    let texts = comparisonTexts()
    let corpus = smallCorpus()
    let ours = BPETokenizer.train(texts: corpus, vocabSize: 620)
    let oursURL = dir.appendingPathComponent("ours/tokenizer.json")
    try ours.save(to: oursURL)
    let textsURL = dir.appendingPathComponent("texts.json")
    let corpusURL = dir.appendingPathComponent("corpus.json")
    try write(JSONWriter.serialize(.array(texts.map(JSONValue.string))), textsURL)
    try write(JSONWriter.serialize(.array(corpus.map(JSONValue.string))), corpusURL)
    let output = try runPython(pythonReference, arguments: [textsURL.path, corpusURL.path, oursURL.path, dir.path, BPETokenizer.llama3Regex])
    let result = try JSONParser.parse(output)
    func ids(_ key: String) -> [[Int]] { result[key]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } } }

    // Export: the library loads our tokenizer.json and produces our ids, and decodes them to the text.
    let theirsOnOurs = ids("ours")
    #expect(theirsOnOurs.joined().count > 3000 && Set(theirsOnOurs.joined()).count > 200)
    for (i, text) in texts.enumerated() {
        #expect(ours.encode(text) == theirsOnOurs[i], "our export, text \(i): \(text.debugDescription)")
    }
    let decoded = result["ours_decoded"]!.arrayValue!.map { $0.stringValue! }
    for (i, text) in texts.enumerated() {
        #expect(Array(decoded[i].utf8) == Array(text.utf8), "library decode of text \(i)")
    }
    // Import: tokenizers the library trained itself, in four styles, give the library's ids here.
    for (file, key) in [("gpt2", "gpt2"), ("gpt2_strings", "gpt2"), ("llama3", "llama3"), ("smollm", "smollm"), ("prefix", "prefix")] {
        let imported = try BPETokenizer(contentsOf: dir.appendingPathComponent("\(file).json"))
        let expected = ids(key)
        #expect(imported.mergeList.count > 150 && expected.joined().count > 3000)
        var mismatches = 0
        for (i, text) in texts.enumerated() where imported.encode(text) != expected[i] {
            mismatches += 1
            if mismatches <= 2 {
                Issue.record("\(file): text \(i) \(text.debugDescription)\nours   \(imported.encode(text))\ntheirs \(expected[i])")
            }
        }
        #expect(mismatches == 0, "\(file)")
        // Re-exported, it is still the same tokenizer.
        let again = try BPETokenizer(json: try JSONParser.parse(JSONWriter.serialize(imported.tokenizerJSON())))
        #expect(texts.allSatisfy { again.encode($0) == imported.encode($0) })
    }
    let llama = try BPETokenizer(contentsOf: dir.appendingPathComponent("llama3.json"))
    #expect(llama.preTokenizer == .llama3 && llama.ignoreMerges)
    // Its file has no post-processor: like transformers, nothing is put before a text; the end
    // token is known by name.
    #expect(llama.bosID == -1 && !llama.rules.addBOS && llama.rules.bosID == llama.id(of: "<|begin_of_text|>"))
    #expect(llama.eosID == llama.id(of: "<|end_of_text|>"))
}

@Test func savedTokenizerLoadsBackIdentically() throws {
    let dir = try scratchFolder("tokjson")
    defer { try? FileManager.default.removeItem(at: dir) }
    let tok = BPETokenizer.train(texts: smallCorpus(), vocabSize: 400, preTokenizer: .llama3)
    let url = dir.appendingPathComponent("t.json")
    try tok.save(to: url)
    let back = try BPETokenizer(contentsOf: url)
    #expect(back.mergeList == tok.mergeList && back.vocabSize == tok.vocabSize && back.preTokenizer == .llama3)
    #expect(back.addedTokens == tok.addedTokens && back.bosID == tok.bosID && back.eosID == tok.eosID && back.padID == tok.padID)
    #expect(back.contentHash == tok.contentHash)
    for text in comparisonTexts() { #expect(back.encode(text) == tok.encode(text)) }
}

@Test func unsupportedTokenizerFilesAreRefusedNamingTheKey() throws {
    let dir = try scratchFolder("tokjson")
    defer { try? FileManager.default.removeItem(at: dir) }
    let tok = BPETokenizer.train(texts: ["ab ab ab"], vocabSize: 300)
    func variant(_ edit: (inout [JSONMember]) -> Void) throws -> URL {
        guard case var .object(members) = tok.tokenizerJSON() else { fatalError() }
        edit(&members)
        let url = dir.appendingPathComponent("\(UUID().uuidString).json")
        try write(JSONWriter.serialize(.object(members)), url)
        return url
    }
    func replace(_ key: String, _ value: JSONValue) -> (inout [JSONMember]) -> Void {
        { members in members = members.map { $0.key == key ? JSONMember(key, value) : $0 } }
    }
    let cases: [(URL, String)] = [
        (try variant(replace("normalizer", .object([JSONMember("type", .string("NFC"))]))), "normalizer"),
        (try variant(replace("pre_tokenizer", .object([JSONMember("type", .string("Whitespace"))]))), "pre_tokenizer.type"),
        (try variant(replace("pre_tokenizer", .object([JSONMember("type", .string("Split")), JSONMember("pattern", .object([JSONMember("Regex", .string("\\w+"))]))]))), "pre_tokenizer.pattern.Regex"),
    ]
    for (url, key) in cases {
        do {
            _ = try BPETokenizer(contentsOf: url)
            Issue.record("accepted \(key)")
        } catch let error as TokenizerFileError {
            #expect(error.description.hasPrefix("\(url.path): \(key):"), "\(error)")
        }
    }
    let broken = dir.appendingPathComponent("broken.json")
    try write("{\n  \"model\": [1,\n}", broken)
    #expect(throws: TokenizerFileError.badJSON(broken.path, 3, 1, "unexpected '}', expected a value")) {
        try BPETokenizer(contentsOf: broken)
    }
}
