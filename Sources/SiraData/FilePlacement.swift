#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SiraIO

/// Moving and copying whole input files into the archive and the quarantine without ever losing
/// or tearing them: a move is a `rename` (atomic on one filesystem; across filesystems an atomic
/// copy followed by removal of the source), a copy goes through `AtomicFile`.
enum FilePlacement {
    /// Places `source` at `destination` (which must not exist), moving it when `move` is true and
    /// copying it otherwise.
    static func place(_ source: URL, at destination: URL, move: Bool) throws {
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if move {
            if rename(source.path, destination.path) == 0 {
                AtomicFile.syncFolder(destination.deletingLastPathComponent())
                AtomicFile.syncFolder(source.deletingLastPathComponent())
                return
            }
            guard errno == EXDEV else {
                throw IngestError.cannotPlace(source.path, destination.path, String(cString: strerror(errno)))
            }
        }
        try copy(source, to: destination)
        if move {
            try FileManager.default.removeItem(at: source)
            AtomicFile.syncFolder(source.deletingLastPathComponent())
        }
    }

    /// Streams `source` into `destination` atomically (temporary file, fsync, rename).
    static func copy(_ source: URL, to destination: URL) throws {
        let input = try FileHandle(forReadingFrom: source)
        defer { try? input.close() }
        try AtomicFile.write(to: destination) { out in
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                try out.write(contentsOf: chunk)
            }
        }
    }

    /// True when `url` is a symbolic link (not followed: inbox files must not point elsewhere).
    static func isSymbolicLink(_ url: URL) -> Bool {
        var st = stat()
        return lstat(url.path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }
}
