import Foundation

/// Sharing a finished, never-modified file between the stage cache and what is published from it
/// (checkpoints, merge selections): a hard link costs no bytes; where links are impossible (another
/// filesystem, a filesystem without them) the file is copied instead.
public enum HardLink {
    /// Links `source` at `destination` (which must not exist), else copies it there.
    public static func linkOrCopy(_ source: URL, to destination: URL) throws {
        do { try FileManager.default.linkItem(at: source, to: destination) } catch {
            try FileManager.default.copyItem(at: source, to: destination)
        }
    }
}
