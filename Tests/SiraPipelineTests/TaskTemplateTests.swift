import Foundation
import Testing
import SiraData
@testable import SiraPipeline
@testable import SiraStages

/// The per-task `template: chat | plain` key, how the tokenize stage resolves it against the
/// tokenizer's folder, and that it is part of the stage's cache key.
@Suite struct TaskTemplateTests {
    @Test func manifestKeyParsesAndBadValuesAreLocated() throws {
        let yaml = """
        name: p
        tasks:
          - {name: a, from: a.jsonl, template: plain}
          - {name: b, from: b.jsonl, template: chat, system: "Be brief."}
          - {name: c, from: c.jsonl}
        adapters: {lora: {r: 4}}
        """
        let m = try ManifestLoader.parse(yaml: yaml, file: "pipelines/t.yaml")
        #expect(m.tasks.map(\.template) == [.plain, .chat, nil])
        #expect(m.tasks.map(\.system) == [nil, "Be brief.", nil])
        let bad = manifestErrors("name: p\ntasks:\n  - {name: a, from: a.jsonl, template: llama}\nadapters: {lora: {r: 4}}\n")
        let d = bad.first { $0.keyPath == "tasks[0].template" }
        #expect(d?.problem == "expected 'chat' or 'plain', found 'llama'")
        #expect(d?.line == 3)
    }

    @Test func templateModeIsInTheCacheKey() throws {
        let keys = try [nil, TemplateMode.chat, .plain].map { try TokenizeStage(task: "t", template: $0).parameters() }
        #expect(Set(keys).count == 3)
        #expect(try TokenizeStage(task: "t", template: nil, system: "S").parameters() != keys[0])
    }

    @Test func resolutionFollowsTheTokenizerFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tpl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokenizer = BPETokenizer.train(texts: ["hello world"], vocabSize: 300, threads: 1)
        // No template: default and plain give none, chat is refused naming the task.
        #expect(try TokenizeStage(task: "t", template: nil).resolveTemplate(dir, tokenizer: tokenizer) == nil)
        #expect(throws: StageFailure.self) { try TokenizeStage(task: "t", template: .chat).resolveTemplate(dir, tokenizer: tokenizer) }
        try Data("{\"chat_template\": \"{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}\"}".utf8)
            .write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let chat = try #require(try TokenizeStage(task: "t", template: nil).resolveTemplate(dir, tokenizer: tokenizer))
        #expect(try chat.example(prompt: "q", completion: "a") == Example(prompt: "<user>q<assistant>", completion: "a"))
        #expect(try TokenizeStage(task: "t", template: .plain).resolveTemplate(dir, tokenizer: tokenizer) == nil)
        // The task's system prompt goes first; a refusal names task, split and example.
        let stage = TokenizeStage(task: "t", template: nil, system: "S")
        let render = stage.templated(chat, tokenizer: tokenizer, split: .train)
        #expect(try render(Example(prompt: "q", completion: "a")) == Example(prompt: "<system>S<user>q<assistant>", completion: "a"))
        let strict = try ModelChatTemplate(source: "{{ raise_exception('no system') if messages[0].role == 'system' }}", name: "strict")
        let refuse = stage.templated(strict, tokenizer: tokenizer, split: .eval)
        _ = try? refuse(Example(prompt: "q", completion: "a"))
        #expect { try refuse(Example(prompt: "q2", completion: "a")) } throws: { "\($0)".contains("task t, eval example 1") && "\($0)".contains("no system") }
    }
}
