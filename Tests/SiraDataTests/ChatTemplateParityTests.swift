import Foundation
import Testing
@testable import SiraData

/// Our Jinja interpreter against transformers' `apply_chat_template(tokenize=False)` (PyPI
/// transformers + jinja2) on the real public templates in Fixtures/chat_templates: 60 generated
/// conversations per template (system or not, multi-turn, generation prompt on/off, unicode,
/// quotes, newlines, empty content, and some broken alternation so Mistral's raise_exception
/// fires). Output must be byte-identical; where transformers raises, we must raise too.
@Suite struct ChatTemplateParityTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/chat_templates")

    static let templates: [(file: String, bos: String, eos: String)] = [
        ("HuggingFaceTB-SmolLM2-135M-Instruct.jinja", "<|im_start|>", "<|im_end|>"),
        ("Qwen-Qwen2.5-7B-Instruct.jinja", "<|endoftext|>", "<|im_end|>"),
        ("Qwen-Qwen3-0.6B.jinja", "<|endoftext|>", "<|im_end|>"),
        ("meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
        ("meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
        ("mistralai-Mistral-7B-Instruct-v0.1.jinja", "<s>", "</s>"),
        ("mistralai-Mistral-7B-Instruct-v0.2-v1.jinja", "<s>", "</s>"),
        ("mistralai-Mistral-v3.jinja", "<s>", "</s>"),
    ]

    static let contents = [
        "Hello", "", "What is 2+2?", "  leading and trailing spaces  ", "line one\nline two\n\nline four",
        "quotes: \"double\" and 'single' and `back`", "unicode: héllo wörld 日本語 Ελληνικά 🙂👍🏽", "{{ not a tag }} {% neither %}",
        "<think>\nsome reasoning\n</think>\n\nthe answer", "back\\slash and tab\tend", "\n\nstarts with newlines", "ends with newline\n",
        "<tool_response>\nresult\n</tool_response>", "A longer answer. It has several sentences, commas, and a list:\n- one\n- two",
    ]
    static let systems = ["You are a helpful assistant.", "", "Réponds en français.\nBe brief.", "System with \"quotes\""]

    /// Conversation i of a template: deterministic from the seed.
    static func conversations(count: Int, seed: UInt64) -> [(messages: [[String: String]], generationPrompt: Bool)] {
        var rng = TestRNG(seed: seed)
        var out: [(messages: [[String: String]], generationPrompt: Bool)] = []
        for i in 0 ..< count {
            var messages: [[String: String]] = []
            if i % 3 != 0 { messages.append(["role": "system", "content": systems[Int(rng.next() % UInt64(systems.count))]]) }
            let turns = 1 + Int(rng.next() % 5)
            for t in 0 ..< turns {
                var role = t % 2 == 0 ? "user" : "assistant"
                if i % 17 == 5 && t == 1 { role = "user" }  // broken alternation
                messages.append(["role": role, "content": contents[Int(rng.next() % UInt64(contents.count))]])
            }
            out.append((messages, rng.next() % 2 == 0))
        }
        return out
    }

    static let script = #"""
import json, sys, os, warnings
warnings.filterwarnings("ignore")
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoTokenizer
folder, template_path, bos, eos, convs_path = sys.argv[1:6]
template = open(template_path, encoding="utf-8").read()
vocab = {"[UNK]": 0, bos: 1, eos: 2}
tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
tok.pre_tokenizer = pre_tokenizers.Whitespace()
tok.save(os.path.join(folder, "tokenizer.json"))
json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": bos, "eos_token": eos, "unk_token": "[UNK]",
           "chat_template": template}, open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8"))
t = AutoTokenizer.from_pretrained(folder)
out = {"special": {k: v for k, v in t.special_tokens_map.items() if isinstance(v, str)}, "results": []}
for conv in json.load(open(convs_path, encoding="utf-8")):
    try:
        out["results"].append({"text": t.apply_chat_template(conv["messages"], tokenize=False, add_generation_prompt=conv["agp"])})
    except Exception as e:
        out["results"].append({"error": str(e)})
sys.stdout.write(json.dumps(out, ensure_ascii=True))
"""#

    @Test(arguments: 0 ..< templates.count)
    func rendersAsTransformers(_ index: Int) throws {
        let (file, bos, eos) = Self.templates[index]
        let path = Self.fixtures.appendingPathComponent(file)
        let source = try String(contentsOf: path, encoding: .utf8)
        let template = try JinjaTemplate(source, name: file)
        let convs = Self.conversations(count: 60, seed: UInt64(index + 1) * 7919)
        let folder = try scratchFolder("jinja-parity")
        defer { try? FileManager.default.removeItem(at: folder) }
        let convJSON: [[String: Any]] = convs.map { ["messages": $0.messages, "agp": $0.generationPrompt] }
        let convURL = folder.appendingPathComponent("conversations.json")
        try JSONSerialization.data(withJSONObject: convJSON).write(to: convURL)
        let reply = try runPython(Self.script, arguments: [folder.path, path.path, bos, eos, convURL.path])
        let parsed = try JSONParser.parse(Array(reply.utf8))
        guard let results = parsed["results"]?.arrayValue, results.count == convs.count else {
            Issue.record("python returned no results: \(reply.prefix(300))")
            return
        }
        var context: [String: JinjaValue] = [:]
        if case let .object(members)? = parsed["special"] { for m in members { context[m.key] = JinjaValue(json: m.value) } }
        var identical = 0
        var errorsMatched = 0
        for (i, conv) in convs.enumerated() {
            var ctx = context
            ctx["messages"] = .array(conv.messages.map { m in .object(JinjaObject([("role", .string(m["role"]!)), ("content", .string(m["content"]!))])) })
            ctx["add_generation_prompt"] = .bool(conv.generationPrompt)
            ctx["tools"] = JinjaValue.none
            ctx["documents"] = JinjaValue.none
            let ours: Result<String, JinjaError> = Result { () throws(JinjaError) in try template.render(ctx) }
            if let expected = results[i]["text"]?.stringValue {
                switch ours {
                case let .success(text):
                    if text.utf8.elementsEqual(expected.utf8) { identical += 1 } else {
                        Issue.record("\(file) conversation \(i): differs\nours:   \(text.debugDescription)\ntheirs: \(expected.debugDescription)")
                    }
                case let .failure(e): Issue.record("\(file) conversation \(i): we failed (\(e)) where transformers rendered \(expected.debugDescription)")
                }
            } else {
                let theirs = results[i]["error"]?.stringValue ?? "?"
                switch ours {
                case let .failure(e) where e.kind == .raised && theirs.contains(e.message): identical += 1; errorsMatched += 1
                case let .failure(e): Issue.record("\(file) conversation \(i): both failed, differently: ours \(e), theirs \(theirs)")
                case let .success(text): Issue.record("\(file) conversation \(i): transformers raised \(theirs) but we rendered \(text.debugDescription)")
                }
            }
        }
        print("chat template parity \(file): \(identical)/\(convs.count) identical (\(errorsMatched) refusals matched)")
        #expect(identical == convs.count)
    }
}
