import Foundation
import Testing
@testable import SiraData

/// Tokenizer folders shaped like each family's published ones (tokenizer.json post-processor,
/// tokenizer_config.json, generation_config.json, config.json), on a small vocabulary the
/// `tokenizers` library trains: where our rules put the start and end tokens, the ids generation
/// stops at and the end token of a trained completion are what `transformers`' AutoTokenizer and
/// GenerationConfig say, and the text in between is the `tokenizers` library's ids.
///
/// Families: Llama-3.x-Instruct (TemplateProcessing adds `<|begin_of_text|>`; eos `<|eot_id|>`;
/// generation_config lists three stop ids), Qwen2.5-Instruct (ByteLevel post-processor, no start
/// token, eos `<|im_end|>`, stops at im_end and endoftext; its NFC normalizer is left out: our
/// reader refuses normalizers), SmolLM2-Instruct (no start token, eos `<|im_end|>`, id 2 in all
/// three files), Mistral/Llama-2 (`<s> $A` and `add_bos_token: true`; no generation_config.json,
/// config.json decides), and a Mistral folder whose `add_eos_token: true, add_bos_token: false`
/// contradict its template (transformers 5 follows the template).
private let script = #"""
import json, sys, os
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, processors, Regex
out, llama3_regex, qwen2_regex = sys.argv[1], sys.argv[2], sys.argv[3]
texts = json.loads(sys.argv[4])
corpus = ["Hello world, the quick brown fox jumps over 12345 lazy dogs.", "naïve café – 東京 🚀 x=42; y = x**2 // 7",
          "user\nHi there! How are you today?\nassistant\nI am fine, thanks."] * 30

def train(pre, specials):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return tok

def write(name, tok, tokenizer_config, generation_config, config):
    d = os.path.join(out, name); os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    json.dump(tokenizer_config, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=2)
    if generation_config is not None: json.dump(generation_config, open(os.path.join(d, "generation_config.json"), "w"), indent=2)
    json.dump(config, open(os.path.join(d, "config.json"), "w"), indent=2)

split = lambda r: pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
# Llama-3.x-Instruct: TemplateProcessing puts <|begin_of_text|> first; eos_token <|eot_id|>; generation stops at three ids.
t = train(split(llama3_regex), ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>"])
t.post_processor = processors.Sequence([processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
    processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                  special_tokens=[("<|begin_of_text|>", 0)])])
write("llama3", t, {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "clean_up_tokenization_spaces": True,
                    "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"},
      {"bos_token_id": 0, "eos_token_id": [1, 4, 5], "do_sample": True, "temperature": 0.6, "top_p": 0.9},
      {"model_type": "llama", "bos_token_id": 0, "eos_token_id": [1, 4, 5]})
# Qwen2.5-Instruct: post-processor ByteLevel only (adds nothing); bos_token null; eos <|im_end|>; generation stops at im_end and endoftext.
t = train(split(qwen2_regex), ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
t.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
write("qwen2", t, {"add_prefix_space": False, "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "errors": "replace",
                   "model_max_length": 131072, "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer", "unk_token": None},
      {"bos_token_id": 0, "pad_token_id": 0, "do_sample": True, "eos_token_id": [2, 0], "repetition_penalty": 1.05},
      {"model_type": "qwen2", "bos_token_id": 0, "eos_token_id": 2})
# SmolLM2-Instruct: digits alone then GPT-2's ByteLevel; no start token; eos <|im_end|> (id 2) in all three files.
t = train(pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
          ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
t.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
write("smollm2", t, {"add_prefix_space": False, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                     "unk_token": "<|endoftext|>", "clean_up_tokenization_spaces": False, "model_max_length": 8192,
                     "tokenizer_class": "GPT2Tokenizer", "vocab_size": 300},
      {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2},
      {"model_type": "llama", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2})
# Mistral / Llama-2: <s> $A post-processor and add_bos_token true in tokenizer_config.json; no generation_config.json (config.json decides).
for name, add_bos, add_eos in [("mistral", True, False), ("mistral-eos", False, True)]:
    t = train(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), ["<unk>", "<s>", "</s>"])
    t.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", 1)])
    write(name, t, {"add_bos_token": add_bos, "add_eos_token": add_eos, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                    "legacy": False, "model_max_length": 1000000000000000019884624838656, "pad_token": None,
                    "clean_up_tokenization_spaces": False, "sp_model_kwargs": {}, "spaces_between_special_tokens": False,
                    "tokenizer_class": "LlamaTokenizerFast", "use_default_system_prompt": False},
          None, {"model_type": "mistral", "bos_token_id": 1, "eos_token_id": 2})

import transformers
transformers.logging.set_verbosity_error()
from transformers import AutoTokenizer, GenerationConfig
result = {}
for name in ["llama3", "qwen2", "smollm2", "mistral", "mistral-eos"]:
    d = os.path.join(out, name)
    tok = AutoTokenizer.from_pretrained(d)
    lib = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    try:
        gen = GenerationConfig.from_pretrained(d).eos_token_id
    except OSError:
        gen = GenerationConfig.from_model_config(transformers.AutoConfig.from_pretrained(d)).eos_token_id
    gen = gen if isinstance(gen, list) else [gen]
    full_prefix = tok("")["input_ids"]
    example = lambda p, c: full_prefix + tok(p, add_special_tokens=False)["input_ids"] + tok(c, add_special_tokens=False)["input_ids"]
    result[name] = {"full": [tok(x)["input_ids"] for x in texts],
                    "example": example("Q: 2+2?\nA:", " four") + [tok.eos_token_id],
                    "example_turn": example("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "Hello!<|im_end|>"), "body": [tok(x, add_special_tokens=False)["input_ids"] for x in texts],
                    "library": [lib.encode(x, add_special_tokens=False).ids for x in texts],
                    "eos": tok.eos_token_id, "generation_eos": gen, "class": type(tok).__name__}
json.dump(result, sys.stdout)
"""#

private let families = ["llama3", "qwen2", "smollm2", "mistral", "mistral-eos"]
private let texts = ["Hello world", "The year 2024 had 366 days.", " leading space", "naïve café 🚀",
                     "<|im_start|>user\nHi<|im_end|>\n", "", "x=42; y = x**2 // 7\n\nEnd."]

@Test func specialTokensArePlacedAsTransformersPlacesThemForEachFamily() throws {
    let dir = try scratchFolder("tokfamily")
    defer { try? FileManager.default.removeItem(at: dir) }
    let textsJSON = JSONWriter.serialize(.array(texts.map(JSONValue.string)))
    let result = try JSONParser.parse(try runPython(script, arguments: [dir.path, BPETokenizer.llama3Regex, BPETokenizer.qwen2Regex, textsJSON]))
    func ids(_ v: JSONValue?) -> [Int] { v?.arrayValue?.compactMap(\.intValue) ?? [] }
    for family in families {
        let expected = try #require(result[family])
        let tok = try BPETokenizer.load(modelFolder: dir.appendingPathComponent(family))
        let full = expected["full"]!.arrayValue!.map(ids), library = expected["library"]!.arrayValue!.map(ids)
        for (i, text) in texts.enumerated() {
            let body = tok.encode(text)
            #expect(body == library[i], "\(family): \(text.debugDescription)")
            let ours = tok.rules.prefix.map(Int.init) + body + tok.rules.suffix.map(Int.init)
            #expect(ours == full[i], "\(family): \(text.debugDescription): \(ours) vs transformers \(full[i])")
        }
        // The end token of a trained completion is transformers' eos_token_id; generation stops at
        // every id of generation_config.json (config.json's when there is none).
        let eos = try #require(expected["eos"]?.intValue)
        #expect(tok.eosID == eos, "\(family)")
        #expect(Set(tok.rules.stopIDs) == Set(ids(expected["generation_eos"]) + [eos]), "\(family): \(tok.rules.stopIDs)")
        // Training examples: start token as the model adds it, prompt, completion, the model's end
        // token; a completion that ends with the template's end of turn gets no second one.
        let example = tok.encode(Example(prompt: "Q: 2+2?\nA:", completion: " four"))
        #expect(example.tokens.map(Int.init) == ids(expected["example"]), "\(family)")
        #expect(example.mask.last == 1 && example.mask.first == 0)
        let turn = tok.encode(Example(prompt: "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", completion: "Hello!<|im_end|>"))
        if tok.id(of: "<|im_end|>") != nil {
            #expect(turn.tokens.map(Int.init) == ids(expected["example_turn"]), "\(family): no second end after <|im_end|>")
        }
    }
}

@Test func modelTokenizerFilesThatNameUnknownTokensAreRefusedNamingFileAndKey() throws {
    let dir = try scratchFolder("tokfamily")
    defer { try? FileManager.default.removeItem(at: dir) }
    let tokenizerJSON = #"""
    {"added_tokens": [{"id": 2, "content": "<|endoftext|>", "special": true}], "normalizer": null,
     "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}, "post_processor": null,
     "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}}
    """#
    try write(tokenizerJSON, dir.appendingPathComponent("tokenizer.json"))
    try write(#"{"eos_token": "<|nope|>"}"#, dir.appendingPathComponent("tokenizer_config.json"))
    #expect { try BPETokenizer.load(modelFolder: dir) } throws: {
        "\($0)".contains("tokenizer_config.json") && "\($0)".contains("eos_token") && "\($0)".contains("<|nope|>")
    }
    try write(#"{"eos_token_id": [1, 99999]}"#, dir.appendingPathComponent("generation_config.json"))
    try write(#"{"eos_token": "<|endoftext|>"}"#, dir.appendingPathComponent("tokenizer_config.json"))
    #expect { try BPETokenizer.load(modelFolder: dir) } throws: {
        "\($0)".contains("generation_config.json") && "\($0)".contains("eos_token_id") && "\($0)".contains("99999")
    }
    try write("{\"eos_token_id\": [", dir.appendingPathComponent("generation_config.json"))
    #expect { try BPETokenizer.load(modelFolder: dir) } throws: { "\($0)".contains("generation_config.json:1:") }
}
