/// One training record after normalisation: every input shape (prompt/completion, input/output,
/// text, chat messages, CSV columns, plain-text paragraphs) becomes this.
///
/// The model is trained to produce `completion` given `prompt`: prompt tokens are masked out of the
/// loss, completion tokens (and the end-of-sequence token) are scored. A language-modelling record
/// has an empty prompt, so all of its text is scored. Strings are kept exactly as read (no Unicode
/// normalisation, which would change tokenisation); only line breaks that come from the file's own
/// line structure (CSV quoted newlines, plain-text paragraphs) are written as "\n".
public struct Example: Sendable, Equatable {
    public var prompt: String
    public var completion: String

    public init(prompt: String, completion: String) {
        self.prompt = prompt
        self.completion = completion
    }

    /// A language-modelling record: no prompt, all text scored.
    public init(text: String) {
        self.init(prompt: "", completion: text)
    }

    /// UTF-8 size of prompt and completion: what the length limit is measured in.
    public var byteCount: Int { prompt.utf8.count + completion.utf8.count }

    /// Byte-wise equality. Swift's `==` on String uses canonical equivalence ("é" precomposed
    /// equals "e" + combining acute); data identity must not, since the two tokenise differently.
    public static func == (a: Example, b: Example) -> Bool {
        a.prompt.utf8.elementsEqual(b.prompt.utf8) && a.completion.utf8.elementsEqual(b.completion.utf8)
    }
}
