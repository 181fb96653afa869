import Foundation

/// Where ingest reads and writes, below a workspace root (DESIGN.md §2):
///
/// - `data/inbox/` — dropped files; a file here is moved away once handled (to the archive, or to
///   the quarantine if unusable). Files given from elsewhere are copied, never moved.
/// - `data/datasets/<task>/<sha256>/` — snapshots (see `Ingestor`).
/// - `data/quarantine/` — rejected rows (`<file>.<sha12>.rejects.jsonl`) and unusable files with
///   a `<file>.reason` next to them.
/// - `data/archive/<sha256>.<ext>` — the original bytes of every ingested file.
public struct IngestWorkspace: Sendable, Equatable {
    public let root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    public var inbox: URL { root.appendingPathComponent("data/inbox") }
    public var datasets: URL { root.appendingPathComponent("data/datasets") }
    public var quarantine: URL { root.appendingPathComponent("data/quarantine") }
    public var archive: URL { root.appendingPathComponent("data/archive") }

    public func snapshot(task: String, sha256: String) -> URL {
        datasets.appendingPathComponent(task).appendingPathComponent(sha256)
    }

    /// True when `url` lies inside the inbox (after resolving `..`, not links): such files are
    /// moved once handled, others are copied.
    public func isInInbox(_ url: URL) -> Bool {
        let prefix = inbox.path.hasSuffix("/") ? inbox.path : inbox.path + "/"
        return url.standardizedFileURL.path.hasPrefix(prefix)
    }
}
