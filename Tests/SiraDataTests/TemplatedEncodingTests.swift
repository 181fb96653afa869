import Foundation
import Testing
@testable import SiraData

/// A templated example encoded by our tokenizer gives the ids transformers gives for
/// `apply_chat_template(..., tokenize=True)` on the same folder (a byte-level BPE whose
/// post-processor adds `<|begin_of_text|>`, and the Llama 3.2 template that writes it too): the
/// start token is not doubled, and scoring starts right after the rendered prompt.
@Suite struct TemplatedEncodingTests {
    static let script = #"""
import json, sys, os, warnings
warnings.filterwarnings("ignore")
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, processors
from transformers import AutoTokenizer
folder, template_path = sys.argv[1:3]
specials = ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
text = ["What is two plus two? Four. Hello there, system user assistant Cutting Knowledge Date December 2023 Today Date 26 Jul 2024"] * 3
tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
bos = tok.token_to_id("<|begin_of_text|>")
tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)])
tok.save(os.path.join(folder, "tokenizer.json"))
json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
           "chat_template": open(template_path, encoding="utf-8").read()}, open(os.path.join(folder, "tokenizer_config.json"), "w"))
t = AutoTokenizer.from_pretrained(folder)
def ids(conv, agp):
    r = t.apply_chat_template(conv, tokenize=True, add_generation_prompt=agp)
    return list(r["input_ids"]) if hasattr(r, "keys") else list(r)
conv = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is two plus two?"}, {"role": "assistant", "content": "Four."}]
print(json.dumps({"full": ids(conv, False), "prompt": ids(conv[:-1], True)}))
"""#

    @Test func idsMatchTransformers() throws {
        let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/chat_templates/meta-llama-Llama-3.2-3B-Instruct.jinja")
        let dir = try scratchFolder("templated-encoding")
        defer { try? FileManager.default.removeItem(at: dir) }
        let reply = try JSONParser.parse(try runPython(Self.script, arguments: [dir.path, template.path]))
        let full = try #require(reply["full"]?.arrayValue).compactMap(\.intValue).map(Int32.init)
        let promptCount = try #require(reply["prompt"]?.arrayValue).count
        let tokenizer = try BPETokenizer(contentsOf: dir.appendingPathComponent("tokenizer.json"))
        let chat = try #require(try ModelChatTemplate.load(folder: dir))
        let bos = tokenizer.bosID >= 0 ? String(decoding: tokenizer.tokenBytes(tokenizer.bosID), as: UTF8.self) : nil
        let example = try chat.apply(to: Example(prompt: "What is two plus two?", completion: "Four."), system: "Be brief.", bosText: bos)
        let encoded = tokenizer.encode(example)
        #expect(Array(encoded.tokens.prefix(full.count)) == full)
        #expect(encoded.scoredFrom == promptCount)
        #expect(encoded.tokens.filter { $0 == Int32(tokenizer.bosID) }.count == 1)
    }
}
