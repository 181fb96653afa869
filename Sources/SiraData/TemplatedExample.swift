/// How a task's examples reach the model: `chat` renders them with the base model's own chat
/// template (the default when the base has one), `plain` feeds prompt and completion as they are
/// (and chat records in the `<|role|>content` form of `ChatTemplate`).
public enum TemplateMode: String, Sendable, Codable, CaseIterable {
    case chat, plain
}

extension ChatTemplate {
    /// The turns of a chat record as `render` wrote it into an example (prompt = `<|role|>content`
    /// for each earlier turn, ending with `<|assistant|>`; completion = the answer), or nil when
    /// the prompt is not in that form (a plain prompt/completion record).
    public static func messages(of example: Example) -> [Message]? {
        let prompt = example.prompt
        guard prompt.hasSuffix(SpecialTokens.assistant) else { return nil }
        let markers = [("system", SpecialTokens.system), ("user", SpecialTokens.user), ("assistant", SpecialTokens.assistant)]
        var rest = Substring(prompt.dropLast(SpecialTokens.assistant.count))
        var messages: [Message] = []
        while !rest.isEmpty {
            guard let (role, marker) = markers.first(where: { rest.hasPrefix($0.1) }) else { return nil }
            rest = rest.dropFirst(marker.count)
            var end = rest.endIndex
            for (_, m) in markers { if let r = rest.range(of: m), r.lowerBound < end { end = r.lowerBound } }
            messages.append(Message(role: role, content: String(rest[..<end])))
            rest = rest[end...]
        }
        guard !messages.isEmpty else { return nil }
        messages.append(Message(role: "assistant", content: example.completion))
        return messages
    }
}

extension ModelChatTemplate {
    /// A stored example as the model's template renders it. Chat records (see
    /// `ChatTemplate.messages(of:)`) keep all their turns, earlier answers as context; a
    /// prompt/completion record becomes one user turn (after `system`, if given) and the
    /// answer; a language-modelling record (no prompt) is left as it is. When the tokenizer puts
    /// `bosText`'s token before every sequence itself, a leading `bosText` the template writes is
    /// dropped from the text so the start token is not doubled (transformers tokenizes rendered
    /// chats without adding special tokens; the result is the same ids). White space after a
    /// final `eos_token` is dropped from the completion.
    public func apply(to example: Example, system: String? = nil, bosText: String? = nil) throws -> Example {
        if example.prompt.isEmpty { return example }
        var out: Example
        if var messages = ChatTemplate.messages(of: example) {
            if let system, messages.first?.role != "system" { messages.insert(.init(role: "system", content: system), at: 0) }
            out = try self.example(messages)
        } else {
            out = try self.example(prompt: example.prompt, completion: example.completion, system: system)
        }
        // White space the template writes after its end token (`<|im_end|>\n`) is never generated
        // (generation stops at the end token), so the completion stops at that token.
        if let eos = specialTokens["eos_token"], !eos.isEmpty {
            let trimmed = pyStrip(out.completion, nil, left: false, right: true)
            if trimmed.utf8.count < out.completion.utf8.count, trimmed.hasSuffix(eos) { out.completion = trimmed }
        }
        if let bosText, !bosText.isEmpty, out.prompt.utf8.starts(with: bosText.utf8) {
            out.prompt = String(decoding: out.prompt.utf8.dropFirst(bosText.utf8.count), as: UTF8.self)
        }
        return out
    }
}
