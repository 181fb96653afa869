#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Shell-style file globs for task sources (`data/inbox/sentiment*.jsonl`), relative to a folder.
/// Matches are regular files only, sorted by path, so a task's inputs have a stable order.
public enum Glob {
    public static func hasMagic(_ pattern: String) -> Bool {
        pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    /// Expands `pattern` (relative to `root` unless absolute); a pattern without magic yields the
    /// file itself when it exists.
    public static func expand(_ pattern: String, root: URL) -> [URL] {
        let full = pattern.hasPrefix("/") ? pattern : root.appendingPathComponent(pattern).path
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(full, 0, nil, &g) == 0 else { return [] }
        var out: [URL] = []
        for i in 0 ..< Int(g.gl_pathc) {
            guard let p = g.gl_pathv[i] else { continue }
            let path = String(cString: p)
            var st = stat()
            if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG {
                out.append(URL(fileURLWithPath: path))
            }
        }
        return out.sorted { $0.path < $1.path }
    }
}
