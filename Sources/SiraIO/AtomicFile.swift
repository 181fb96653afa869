#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Crash-safe file replacement: every artifact the product writes goes through here, so a killed
/// process leaves either the old file or the new one, never a torn one (DESIGN.md §7).
///
/// Protocol: write to `.<name>.tmp-<pid>-<random>` in the destination folder (same filesystem, so
/// the rename is atomic), `fsync` the file, `rename` over the destination, `fsync` the folder so the
/// rename itself survives a power loss.
public enum AtomicFile {
    /// Writes `bytes` to `url` atomically, creating the parent folder if needed.
    public static func write(_ bytes: some Collection<UInt8>, to url: URL) throws {
        try write(to: url) { handle in
            try handle.write(contentsOf: Array(bytes))
        }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Array(text.utf8), to: url)
    }

    /// Streams content into a temporary file through `body`, then publishes it atomically.
    /// If `body` throws, the temporary file is removed and the destination is untouched.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tmp = temporaryURL(for: url)
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw AtomicFileError.cannotCreate(tmp.path, String(cString: strerror(errno)))
        }
        do {
            let handle = try FileHandle(forWritingTo: tmp)
            defer { try? handle.close() }
            try body(handle)
            try handle.synchronize()
            try publish(tmp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            if DiskSpace.isFull(error) { throw DiskFullError(path: url.path) }
            throw error
        }
    }

    /// Renames a finished temporary file or folder (already fsynced by the caller) over `url` and
    /// fsyncs the parent folder. For folders, the destination must not exist or be empty-replaceable:
    /// an existing destination folder is first moved aside and removed after the rename.
    public static func publish(_ tmp: URL, to url: URL) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            let aside = temporaryURL(for: url)
            guard rename(url.path, aside.path) == 0 else {
                throw AtomicFileError.cannotRename(url.path, String(cString: strerror(errno)))
            }
            guard rename(tmp.path, url.path) == 0 else {
                let reason = String(cString: strerror(errno))
                _ = rename(aside.path, url.path)
                throw AtomicFileError.cannotRename(tmp.path, reason)
            }
            try? FileManager.default.removeItem(at: aside)
        } else if rename(tmp.path, url.path) != 0 {
            throw AtomicFileError.cannotRename(tmp.path, String(cString: strerror(errno)))
        }
        syncFolder(url.deletingLastPathComponent())
    }

    /// A fresh temporary path next to `url` (same folder, hidden, unique per process and call).
    public static func temporaryURL(for url: URL) -> URL {
        let name = ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        return url.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// fsyncs every regular file below `folder` and the folders themselves, so a folder built in a
    /// temporary location can be published with `publish` and survive a crash.
    public static func syncTree(_ folder: URL) throws {
        let fm = FileManager.default
        if let items = fm.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let item as URL in items {
                let fd = open(item.path, O_RDONLY)
                if fd >= 0 { _ = fsync(fd); _ = close(fd) }
            }
        }
        syncFolder(folder)
    }

    /// fsync on a folder makes a rename inside it durable.
    public static func syncFolder(_ folder: URL) {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { _ = fsync(fd); _ = close(fd) }
    }
}

public enum AtomicFileError: Error, CustomStringConvertible {
    case cannotCreate(String, String)
    case cannotRename(String, String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, why): return "\(path): cannot create temporary file: \(why)"
        case let .cannotRename(path, why): return "\(path): cannot rename into place: \(why)"
        }
    }
}
