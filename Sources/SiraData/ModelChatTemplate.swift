import Foundation

/// A model's own chat template and the special-token strings it is rendered with, as
/// transformers' `apply_chat_template(..., tokenize=False)` renders it: context `messages`,
/// `add_generation_prompt`, `tools = none`, `documents = none`, and the string special tokens of
/// tokenizer_config.json (`bos_token`, `eos_token`, `unk_token`, `pad_token`, ...).
///
/// Sources, in order: `chat_template` of tokenizer_config.json (a string, or a list of
/// `{name, template}` of which `default` is used), else a `chat_template.jinja` file in the
/// folder; or a plain string (GGUF's `tokenizer.chat_template`) through `init(source:name:)`.
public struct ModelChatTemplate {
    public let template: JinjaTemplate
    public let specialTokens: [String: String]

    public var source: String { template.source }

    public init(source: String, name: String, specialTokens: [String: String] = [:]) throws(JinjaError) {
        self.template = try JinjaTemplate(source, name: name)
        self.specialTokens = specialTokens
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The template of the model folder holding `folder/tokenizer_config.json` or
    /// `folder/chat_template.jinja`; nil when it has neither (a base model without a template).
    public static func load(folder: URL) throws -> ModelChatTemplate? {
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        var specials: [String: String] = [:]
        var source: String?
        var name = configURL.path + " chat_template"
        if FileManager.default.fileExists(atPath: configURL.path) {
            let bytes = try Array(Data(contentsOf: configURL))
            let config: JSONValue
            do { config = try JSONParser.parse(bytes) } catch {
                throw LoadError(description: "\(configURL.path): not valid JSON (\(error))")
            }
            guard case .object = config else { throw LoadError(description: "\(configURL.path): expected a JSON object") }
            for key in ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"] {
                switch config[key] {
                case let .string(s)?: specials[key] = s
                case let v? where v["content"]?.stringValue != nil: specials[key] = v["content"]!.stringValue!
                default: break
                }
            }
            switch config["chat_template"] {
            case nil, .null?: break
            case let .string(s)?: source = s
            case let .array(items)?:
                for item in items where item["name"]?.stringValue == "default" { source = item["template"]?.stringValue }
                guard source != nil else {
                    throw LoadError(description: "\(configURL.path): chat_template is a list without a {\"name\": \"default\", \"template\": ...} entry")
                }
                name = configURL.path + " chat_template[default]"
            case let v?:
                throw LoadError(description: "\(configURL.path): chat_template must be a string or a list of {name, template}, found \(v.kindName)")
            }
        }
        if source == nil {
            let jinjaURL = folder.appendingPathComponent("chat_template.jinja")
            if FileManager.default.fileExists(atPath: jinjaURL.path) {
                guard let text = String(data: try Data(contentsOf: jinjaURL), encoding: .utf8) else {
                    throw LoadError(description: "\(jinjaURL.path): not UTF-8 text")
                }
                source = text
                name = jinjaURL.path
            }
        }
        guard let source else { return nil }
        do { return try ModelChatTemplate(source: source, name: name, specialTokens: specials) } catch {
            throw LoadError(description: error.description)
        }
    }

    /// The template's output for `messages` (role/content pairs).
    public func render(_ messages: [ChatTemplate.Message], addGenerationPrompt: Bool) throws(JinjaError) -> String {
        var context: [String: JinjaValue] = [:]
        for (k, v) in specialTokens { context[k] = .string(v) }
        context["messages"] = .array(messages.map { .object(JinjaObject([("role", .string($0.role)), ("content", .string($0.content))])) })
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["tools"] = JinjaValue.none
        context["documents"] = JinjaValue.none
        return try template.render(context)
    }

    /// A conversation whose last turn is the assistant's, as a training example: the prompt is
    /// the rendering of the earlier turns with the generation prompt (everything up to and
    /// including the assistant header), the completion is what the full conversation adds to it
    /// (the assistant content and the template's end of turn). A template whose full rendering
    /// does not start with the prompt (it rewrites earlier turns once an answer follows) cannot
    /// be split this way and is refused.
    public func example(_ messages: [ChatTemplate.Message]) throws -> Example {
        guard let last = messages.last, last.role == "assistant" else {
            throw LoadError(description: "\(template.name): the last message must be the assistant's")
        }
        let prompt = try render(Array(messages.dropLast()), addGenerationPrompt: true)
        let full = try render(messages, addGenerationPrompt: false)
        guard full.utf8.starts(with: prompt.utf8) else {
            throw LoadError(description: "\(template.name): the conversation rendered with the answer does not start with the prompt rendered with add_generation_prompt (the template changes earlier text once an answer follows), so prompt and completion cannot be split")
        }
        let completion = String(decoding: full.utf8.dropFirst(prompt.utf8.count), as: UTF8.self)
        return Example(prompt: prompt, completion: completion)
    }

    /// A prompt/completion example rendered as one user turn (after `system`, if given) and the
    /// assistant's answer.
    public func example(prompt: String, completion: String, system: String? = nil) throws -> Example {
        var messages: [ChatTemplate.Message] = []
        if let system { messages.append(.init(role: "system", content: system)) }
        messages.append(.init(role: "user", content: prompt))
        messages.append(.init(role: "assistant", content: completion))
        return try example(messages)
    }

    /// What the template writes after an assistant's content to end its turn (`<|im_end|>\n`,
    /// `<|eot_id|>`, `</s>`), found by rendering a probe conversation.
    public func endOfTurn() throws -> String {
        let probe = "\u{E000}answer\u{E001}"
        let e = try example(prompt: "question", completion: probe)
        guard let range = e.completion.range(of: probe) else {
            throw LoadError(description: "\(template.name): the template does not write the assistant's content verbatim")
        }
        return String(e.completion[range.upperBound...])
    }
}
