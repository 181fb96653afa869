/// Renders a chat record into an `Example`.
///
/// Format: every turn is its role marker followed by its content, with nothing in between
/// (`<|system|>Be brief.<|user|>Hi<|assistant|>`). All turns but the last go into the prompt, and
/// the prompt ends with the `<|assistant|>` marker so the model learns to answer after it; the last
/// turn must be the assistant's and its content is the completion (scored, followed by eos).
/// Earlier assistant turns are context, not scored.
public enum ChatTemplate {
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case noMessages
        case unknownRole(index: Int, role: String)
        case lastTurnNotAssistant(role: String)
        case emptyCompletion

        public var description: String {
            switch self {
            case .noMessages: return "messages is empty"
            case let .unknownRole(i, role): return "messages[\(i)]: unknown role \"\(role)\" (expected system, user or assistant)"
            case let .lastTurnNotAssistant(role): return "the last message must be from the assistant, found \"\(role)\""
            case .emptyCompletion: return "the last assistant message is empty"
            }
        }
    }

    public static func render(_ messages: [Message]) -> Result<Example, Problem> {
        guard let last = messages.last else { return .failure(.noMessages) }
        var prompt = ""
        for (i, message) in messages.enumerated() {
            guard let marker = SpecialTokens.marker(forRole: message.role) else {
                return .failure(.unknownRole(index: i, role: message.role))
            }
            if i < messages.count - 1 {
                prompt += marker
                prompt += message.content
            }
        }
        guard last.role == "assistant" else { return .failure(.lastTurnNotAssistant(role: last.role)) }
        guard !isBlank(last.content) else { return .failure(.emptyCompletion) }
        prompt += SpecialTokens.assistant
        return .success(Example(prompt: prompt, completion: last.content))
    }
}

/// True when `s` has no characters other than Unicode white space.
func isBlank(_ s: String) -> Bool {
    var s = s
    return s.withUTF8 { buf in
        guard let p = buf.baseAddress else { return true }
        var i = 0
        while i < buf.count {
            let b = p[i]
            if b < 0x80 {
                if !isASCIIWhitespace(b) { return false }
                i += 1
            } else {
                if UnicodeClass.of(decodeScalar(p, i).value) != .space { return false }
                i += utf8Length(b)
            }
        }
        return true
    }
}

/// TAB, LF, VT, FF, CR and space: the ASCII members of Unicode White_Space.
@inline(__always) func isASCIIWhitespace(_ b: UInt8) -> Bool {
    b == 0x20 || (b >= 0x09 && b <= 0x0D)
}

/// Unicode scalars in `s`, counted on its UTF-8 (bytes that do not continue a sequence).
func scalarCount(_ s: String) -> Int {
    var n = 0
    for b in s.utf8 where b & 0xC0 != 0x80 { n += 1 }
    return n
}
