/// A parsed template, ready to render many times. Parsing happens once, so a syntax error is
/// reported when the template is loaded (naming `name` and the line), not at the first record.
public struct JinjaTemplate {
    public let name: String
    public let source: String
    let body: [JinjaStmt]

    public init(_ source: String, name: String) throws(JinjaError) {
        self.name = name
        self.source = source
        self.body = try parseJinja(source, name: name)
    }

    /// Renders with `context` as the global variables (Jinja2's default Undefined for anything
    /// missing; `raise_exception` and `strftime_now` as transformers provides them).
    public func render(_ context: [String: JinjaValue]) throws(JinjaError) -> String {
        try JinjaEvaluator(template: name, globals: context).render(body)
    }
}
