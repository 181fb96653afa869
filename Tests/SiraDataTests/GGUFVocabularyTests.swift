import Foundation
import SiraIO
import Testing
@testable import SiraData

/// A vocabulary the `tokenizers` library trained, written into a GGUF by the PyPI `gguf` package
/// the way llama.cpp's converter writes one (tokens, types, merges, pre-tokenizer name, special
/// ids, add_bos_token): our tokenizer read from the GGUF gives the library's ids, for each
/// pre-tokenizer style.
private let script = #"""
import json, sys
import gguf
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, Regex
out, texts = sys.argv[1], json.load(open(sys.argv[2]))
corpus = texts * 3 + ["The quick brown fox 12345 jumps; over 2024-03-07.", "naïve café – 東京 🚀 x=42"] * 20
styles = {
    "smollm": pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
    "llama-bpe": pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(sys.argv[3]), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
    "gpt2": pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
}
result = {}
for pre, pt in styles.items():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pt
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    model = json.loads(tok.to_str())["model"]
    vocab = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    special = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
    w = gguf.GGUFWriter(f"{out}/{pre}.gguf", "llama")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list([t for t, _ in vocab])
    w.add_token_types([3 if t in special else 1 for t, _ in vocab])
    w.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in model["merges"]])
    w.add_bos_token_id(1); w.add_eos_token_id(2); w.add_add_bos_token(pre == "llama-bpe")
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    result[pre] = [tok.encode(t, add_special_tokens=False).ids for t in texts]
json.dump(result, sys.stdout)
"""#

@Test func ggufVocabulariesEncodeAsTheTokenizersLibrary() throws {
    let dir = try scratchFolder("ggufvocab")
    defer { try? FileManager.default.removeItem(at: dir) }
    let texts = ["Hello world", "The year 2024 had 366 days.", "  leading spaces\tand\ttabs\n\nnew lines",
                 "naïve café – 東京 🚀", "<|im_start|>user\nHi there<|im_end|>\n", "x=42; y = x**2 // 7", "", " "]
    let textsURL = dir.appendingPathComponent("texts.json")
    try Data(JSONWriter.serialize(.array(texts.map(JSONValue.string))).utf8).write(to: textsURL)
    let result = try JSONParser.parse(try runPython(script, arguments: [dir.path, textsURL.path, BPETokenizer.llama3Regex]))
    for pre in ["smollm", "llama-bpe", "gpt2"] {
        let tok = try BPETokenizer(gguf: GGUFFile(dir.appendingPathComponent("\(pre).gguf")))
        let expected = result[pre]!.arrayValue!.map { $0.arrayValue!.map { $0.intValue! } }
        for (i, text) in texts.enumerated() {
            #expect(tok.encode(text) == expected[i], "\(pre): \(text.debugDescription)")
            #expect(tok.decode(tok.encode(text)) == text)
        }
        // The file's rules: start token only where add_bos_token says so; eos stops generation.
        #expect(tok.rules.addBOS == (pre == "llama-bpe") && tok.bosID == (pre == "llama-bpe" ? 1 : -1))
        #expect(tok.eosID == 2 && tok.rules.stopIDs == [2])
        // A pipeline's tokenizer stage saves a GGUF base's vocabulary as tokenizer.json: read
        // back, it still encodes as the library does.
        let saved = dir.appendingPathComponent("\(pre).tokenizer.json")
        try tok.save(to: saved)
        let reloaded = try BPETokenizer(contentsOf: saved)
        for (i, text) in texts.enumerated() {
            #expect(reloaded.encode(text) == expected[i], "\(pre) saved: \(text.debugDescription)")
        }
        #expect(reloaded.contentHash == tok.contentHash)
    }
}

@Test func sentencePieceVocabulariesAreRefusedWithTheReason() throws {
    let dir = try scratchFolder("ggufvocab")
    defer { try? FileManager.default.removeItem(at: dir) }
    _ = try runPython(#"""
import sys, gguf
w = gguf.GGUFWriter(sys.argv[1], "llama")
w.add_tokenizer_model("llama"); w.add_token_list(["<unk>", "a"])
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
"""#, arguments: [dir.appendingPathComponent("sp.gguf").path])
    #expect {
        try BPETokenizer(gguf: GGUFFile(dir.appendingPathComponent("sp.gguf")))
    } throws: { "\($0)".contains("SentencePiece") && "\($0)".contains("sp.gguf") }
}
