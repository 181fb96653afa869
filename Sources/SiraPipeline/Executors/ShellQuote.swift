/// POSIX shell quoting for the job scripts the Slurm executor writes. Nothing from a manifest, a
/// dataset or a path reaches a shell except through `quote` (DESIGN.md §8): inside single quotes
/// the shell expands nothing, and a single quote itself is written as `'\''`.
enum ShellQuote {
    /// `text` as one shell word that expands to exactly `text`. NUL cannot be passed through a
    /// shell at all, so it is refused.
    static func quote(_ text: String) throws -> String {
        if text.utf8.contains(0) { throw ShellQuoteError.nul(text.replacingOccurrences(of: "\0", with: "\\0")) }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

enum ShellQuoteError: Error, CustomStringConvertible {
    case nul(String)

    var description: String { "'\(self.shown)' contains a NUL byte, which no shell can pass on" }

    private var shown: String {
        switch self { case let .nul(s): return s }
    }
}
