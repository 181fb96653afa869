import Foundation

/// Resolves a log URL path to a file under `data/logs/` and nowhere else. The names the scheduler
/// writes are `<run>/<stage>.<attempt>.log`; anything else (`..`, absolute paths, encoded
/// separators, symlinks pointing out) is refused, so a URL can never read a file outside the folder.
struct LogFiles: Sendable {
    let root: URL

    init(workspace: URL) {
        root = workspace.appendingPathComponent("data/logs", isDirectory: true).standardizedFileURL
    }

    /// The file for `run` and `name`, or nil when the name is not a plain log name or the resolved
    /// file (after following symlinks) is not inside the logs folder.
    func resolve(run: String, name: String) -> URL? {
        guard Int64(run) != nil, Self.isPlainName(name), name.hasSuffix(".log") else { return nil }
        let candidate = root.appendingPathComponent(run).appendingPathComponent(name).resolvingSymlinksInPath()
        let base = root.resolvingSymlinksInPath().path + "/"
        guard candidate.path.hasPrefix(base) else { return nil }
        return candidate
    }

    /// Letters, digits, `_ - . @` (stage ids are `kind@task…`), no leading dot, no `..`.
    static func isPlainName(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 200, !name.hasPrefix("."), !name.contains("..") else { return false }
        return name.unicodeScalars.allSatisfy { s in
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9") || s == "_" || s == "-" || s == "." || s == "@"
        }
    }

    /// The last `maxBytes` of the file starting at `offset` (clamped), and the offset after it:
    /// the page asks again from there to stream a stage's log while it runs.
    func tail(_ url: URL, from offset: Int?, maxBytes: Int = 64 * 1024) throws -> (text: String, end: Int) {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        var start = offset ?? max(0, size - maxBytes)
        if start > size || start < 0 { start = size }
        if size - start > maxBytes { start = size - maxBytes }
        try handle.seek(toOffset: UInt64(start))
        let data = try handle.read(upToCount: size - start) ?? Data()
        return (String(decoding: data, as: UTF8.self), start + data.count)
    }
}
