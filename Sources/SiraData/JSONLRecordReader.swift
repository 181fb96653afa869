import Foundation

/// JSON Lines: one object per line, in one of the shapes of DESIGN.md §6, decided per line:
/// `{"messages": [{"role","content"}...]}` (chat, rendered by `ChatTemplate`),
/// `{"prompt","completion"}`, `{"input","output"}`, or `{"text"}` (language modelling).
/// With a `ColumnMapping`, its keys are used instead. Other keys are ignored. Blank lines are skipped.
struct JSONLRecordReader {
    let options: ReaderOptions

    func read(_ url: URL, onExample: (Int, Example) throws -> Void, onReject: (RejectedRecord) throws -> Void) throws -> Int {
        let reader = try LineReader(url, maxLineBytes: options.maxRawBytes)
        let file = url.path
        try reader.forEach { event in
            switch event {
            case let .tooLong(line, length, start):
                try onReject(RejectedRecord(file: file, line: line, reason: .tooLong(bytes: length, limit: options.maxRawBytes), raw: start))
            case let .line(line, bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
                switch example(from: bytes) {
                case let .success(example): try onExample(line, example)
                case let .failure(reason): try onReject(RejectedRecord(file: file, line: line, reason: reason, raw: bytes))
                }
            }
        }
        return reader.bytesRead
    }

    func example(from bytes: UnsafeRawBufferPointer) -> Result<Example, RejectReason> {
        let offset = firstInvalidUTF8Offset(bytes)
        if offset < bytes.count { return .failure(.invalidUTF8(offset: offset)) }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            return .failure(.badJSON("\(error.message) at column \(error.offset + 1)"))
        }
        guard case let .object(members) = value else {
            return .failure(.badJSON("expected an object, found \(value.kindName)"))
        }
        let result = shape(value, keys: members.map(\.key))
        switch result {
        case let .success((example, completionField)):
            if let reason = checkExample(example, completionField: completionField, limit: options.maxRecordBytes) {
                return .failure(reason)
            }
            return .success(example)
        case let .failure(reason):
            return .failure(reason)
        }
    }

    /// The example of one object and the name of the field its completion came from.
    private func shape(_ object: JSONValue, keys: [String]) -> Result<(Example, String), RejectReason> {
        if let mapping = options.columns {
            if let textKey = mapping.text {
                return string(object, textKey).map { (Example(text: $0), textKey) }
            }
            let completionKey = mapping.completion ?? "completion"
            let prompt: Result<String, RejectReason> = mapping.prompt.map { string(object, $0) } ?? .success("")
            return prompt.flatMap { p in string(object, completionKey).map { (Example(prompt: p, completion: $0), completionKey) } }
        }
        if object["messages"] != nil { return chat(object) }
        for (promptKey, completionKey) in [("prompt", "completion"), ("input", "output")]
            where object[promptKey] != nil || object[completionKey] != nil
        {
            return string(object, promptKey).flatMap { p in
                string(object, completionKey).map { (Example(prompt: p, completion: $0), completionKey) }
            }
        }
        if object["text"] != nil {
            return string(object, "text").map { (Example(text: $0), "text") }
        }
        let found = keys.isEmpty ? "no keys" : "keys " + keys.prefix(8).map { "\"\($0)\"" }.joined(separator: ", ")
        return .failure(.missingField("expected \"prompt\"+\"completion\", \"input\"+\"output\", \"text\" or \"messages\"; found \(found)"))
    }

    private func string(_ object: JSONValue, _ key: String) -> Result<String, RejectReason> {
        guard let value = object[key] else { return .failure(.missingField("\"\(key)\"")) }
        guard case let .string(s) = value else { return .failure(.wrongType(field: key, expected: "string", found: value.kindName)) }
        return .success(s)
    }

    private func chat(_ object: JSONValue) -> Result<(Example, String), RejectReason> {
        guard case let .array(items) = object["messages"]! else {
            return .failure(.wrongType(field: "messages", expected: "array", found: object["messages"]!.kindName))
        }
        var messages: [ChatTemplate.Message] = []
        for (i, item) in items.enumerated() {
            guard case .object = item else {
                return .failure(.wrongType(field: "messages[\(i)]", expected: "object", found: item.kindName))
            }
            guard let role = item["role"] else { return .failure(.missingField("\"messages[\(i)].role\"")) }
            guard let content = item["content"] else { return .failure(.missingField("\"messages[\(i)].content\"")) }
            guard case let .string(r) = role else {
                return .failure(.wrongType(field: "messages[\(i)].role", expected: "string", found: role.kindName))
            }
            guard case let .string(c) = content else {
                return .failure(.wrongType(field: "messages[\(i)].content", expected: "string", found: content.kindName))
            }
            messages.append(ChatTemplate.Message(role: r, content: c))
        }
        switch ChatTemplate.render(messages) {
        case let .success(example): return .success((example, "messages"))
        case let .failure(problem):
            if problem == .emptyCompletion { return .failure(.empty(field: "messages[\(messages.count - 1)].content")) }
            return .failure(.badChat(problem.description))
        }
    }
}
