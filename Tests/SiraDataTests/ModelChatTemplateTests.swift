import Foundation
import Testing
@testable import SiraData

/// Reading a model's template from its folder, and splitting conversations into prompt and
/// completion through it, checked against transformers' apply_chat_template on the same folder.
@Suite struct ModelChatTemplateTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/chat_templates")

    func folder(config: [String: Any], jinja: String? = nil) throws -> URL {
        let f = try scratchFolder("chat-template")
        try JSONSerialization.data(withJSONObject: config).write(to: f.appendingPathComponent("tokenizer_config.json"))
        if let jinja { try write(jinja, f.appendingPathComponent("chat_template.jinja")) }
        return f
    }

    @Test func readsEachPlaceATemplateCanLive() throws {
        let a = try folder(config: ["chat_template": "A{{ messages[0].content }}", "eos_token": "</s>"])
        defer { try? FileManager.default.removeItem(at: a) }
        let ta = try #require(try ModelChatTemplate.load(folder: a))
        #expect(try ta.render([.init(role: "user", content: "x")], addGenerationPrompt: false) == "Ax")
        #expect(ta.specialTokens["eos_token"] == "</s>")

        let b = try folder(config: ["chat_template": [["name": "tool_use", "template": "T"], ["name": "default", "template": "D{{ eos_token }}"]],
                                    "eos_token": ["content": "<|e|>", "special": true]])
        defer { try? FileManager.default.removeItem(at: b) }
        #expect(try ModelChatTemplate.load(folder: b)!.render([], addGenerationPrompt: false) == "D<|e|>")

        let c = try folder(config: ["bos_token": "<s>"], jinja: "J{{ bos_token }}")
        defer { try? FileManager.default.removeItem(at: c) }
        #expect(try ModelChatTemplate.load(folder: c)!.render([], addGenerationPrompt: false) == "J<s>")

        let d = try folder(config: ["bos_token": "<s>"])
        defer { try? FileManager.default.removeItem(at: d) }
        #expect(try ModelChatTemplate.load(folder: d) == nil)
    }

    @Test func badTemplatesNameTheFileAndLine() throws {
        let a = try folder(config: ["chat_template": ["no", "names"]])
        defer { try? FileManager.default.removeItem(at: a) }
        #expect { try ModelChatTemplate.load(folder: a) } throws: { "\($0)".contains("tokenizer_config.json") && "\($0)".contains("default") }
        let b = try folder(config: ["chat_template": "ok\n{% if %}"])
        defer { try? FileManager.default.removeItem(at: b) }
        #expect { try ModelChatTemplate.load(folder: b) } throws: { "\($0)".contains("tokenizer_config.json chat_template line 2") }
    }

    @Test func templateThatRewritesEarlierTextIsRefused() throws {
        let t = try ModelChatTemplate(source: "{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %}>>{% endif %}", name: "odd")
        #expect { try t.example(prompt: "q", completion: "a") } throws: { "\($0)".contains("cannot be split") }
    }

    static let script = #"""
import json, sys, os, warnings
warnings.filterwarnings("ignore")
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoTokenizer
folder, template_path, bos, eos, convs_path = sys.argv[1:6]
tok = Tokenizer(models.WordLevel({"[UNK]": 0, bos: 1, eos: 2}, unk_token="[UNK]"))
tok.pre_tokenizer = pre_tokenizers.Whitespace()
tok.save(os.path.join(folder, "tokenizer.json"))
json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": bos, "eos_token": eos, "unk_token": "[UNK]",
           "chat_template": open(template_path, encoding="utf-8").read()}, open(os.path.join(folder, "tokenizer_config.json"), "w"))
t = AutoTokenizer.from_pretrained(folder)
out = []
for conv in json.load(open(convs_path)):
    prompt = t.apply_chat_template(conv[:-1], tokenize=False, add_generation_prompt=True)
    full = t.apply_chat_template(conv, tokenize=False, add_generation_prompt=False)
    out.append({"prompt": prompt, "full": full})
print(json.dumps(out))
"""#

    /// prompt = transformers' rendering of the earlier turns with the generation prompt,
    /// prompt + completion = its rendering of the whole conversation; chat records keep their
    /// earlier turns; the template's start token is dropped when the tokenizer adds it itself.
    @Test(arguments: [("HuggingFaceTB-SmolLM2-135M-Instruct.jinja", "<|im_start|>", "<|im_end|>"),
                      ("Qwen-Qwen2.5-7B-Instruct.jinja", "<|endoftext|>", "<|im_end|>"),
                      ("meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
                      ("mistralai-Mistral-7B-Instruct-v0.2-v1.jinja", "<s>", "</s>")])
    func splitsAsTransformersRenders(_ file: String, _ bos: String, _ eos: String) throws {
        let path = Self.fixtures.appendingPathComponent(file)
        let dir = try scratchFolder("chat-split")
        defer { try? FileManager.default.removeItem(at: dir) }
        let template = try ModelChatTemplate(source: try String(contentsOf: path, encoding: .utf8), name: file,
                                             specialTokens: ["bos_token": bos, "eos_token": eos, "unk_token": "[UNK]"])
        let records: [Example] = [
            Example(prompt: "What is 2+2?", completion: "4"),
            Example(prompt: "Ünïcode «quotes» \"x\"\nline", completion: "multi\nline answer "),
            try ChatTemplate.render([.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi"),
                                 .init(role: "assistant", content: "Hello!"), .init(role: "user", content: "Again?"),
                                 .init(role: "assistant", content: "Yes.")]).get(),
        ]
        let convs: [[[String: String]]] = records.map { r in
            (ChatTemplate.messages(of: r) ?? [.init(role: "user", content: r.prompt), .init(role: "assistant", content: r.completion)])
                .map { ["role": $0.role, "content": $0.content] }
        }
        #expect(convs[2].count == 5)
        let convURL = dir.appendingPathComponent("convs.json")
        try JSONSerialization.data(withJSONObject: convs).write(to: convURL)
        let reply = try JSONParser.parse(try runPython(Self.script, arguments: [dir.path, path.path, bos, eos, convURL.path]))
        for (i, record) in records.enumerated() {
            let e = try template.example(ChatTemplate.messages(of: record)
                ?? [.init(role: "user", content: record.prompt), .init(role: "assistant", content: record.completion)])
            let prompt = try #require(reply[i]?["prompt"]?.stringValue)
            let full = try #require(reply[i]?["full"]?.stringValue)
            #expect(e.prompt == prompt, "\(file) record \(i)")
            #expect(e.prompt + e.completion == full, "\(file) record \(i)")
            // For training the completion stops at the end token: what follows it is white space.
            let applied = try template.apply(to: record)
            #expect(applied.prompt == prompt)
            #expect(full.hasPrefix(applied.prompt + applied.completion))
            #expect(applied.completion.hasSuffix(eos))
            #expect(try String(full.dropFirst((applied.prompt + applied.completion).count)).allSatisfy(\.isWhitespace))
            let stripped = try template.apply(to: record, bosText: bos)
            if prompt.hasPrefix(bos) { #expect(bos + stripped.prompt == prompt) } else { #expect(stripped.prompt == prompt) }
        }
        // The end of turn is what follows the answer in the full rendering.
        let eot = try template.endOfTurn()
        let full0 = try #require(reply[0]?["full"]?.stringValue)
        #expect(full0.hasSuffix("4" + eot))
    }
}

extension JSONValue {
    subscript(index: Int) -> JSONValue? {
        guard case let .array(a) = self, index < a.count else { return nil }
        return a[index]
    }
}
