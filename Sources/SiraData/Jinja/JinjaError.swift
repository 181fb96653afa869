/// A template that cannot be parsed or rendered. `template` names the template (a file path or a
/// key such as `tokenizer_config.json chat_template`), `line` is 1-based in the template text;
/// `raise_exception(...)` calls from the template arrive here too, with their message.
public struct JinjaError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case syntax, runtime, raised }
    public var kind: Kind
    public var template: String
    public var line: Int
    public var message: String

    public init(_ kind: Kind, template: String, line: Int, _ message: String) {
        self.kind = kind
        self.template = template
        self.line = line
        self.message = message
    }

    public var description: String {
        switch kind {
        case .syntax: return "\(template) line \(line): template syntax error: \(message)"
        case .runtime: return "\(template) line \(line): template error: \(message)"
        case .raised: return "\(template) line \(line): the template refused the conversation: \(message)"
        }
    }
}

/// Thrown inside the evaluator without position; the statement being run adds template and line.
struct JinjaFailure: Error {
    var kind: JinjaError.Kind = .runtime
    var message: String
    init(_ message: String, kind: JinjaError.Kind = .runtime) {
        self.message = message
        self.kind = kind
    }
}
