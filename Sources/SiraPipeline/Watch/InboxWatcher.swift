#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation

/// What the inbox watcher reports. Paths are absolute, below the watched root, regular files only
/// (symbolic links and special files are never reported: an inbox file is read, never followed).
public enum InboxEvent: Sendable, Hashable {
    /// A writer closed the file after writing (`IN_CLOSE_WRITE`): the strongest sign it is done.
    case closedWrite(String)
    /// The file was renamed into the inbox (`IN_MOVED_TO`), typically `mv` of a finished file.
    case movedIn(String)
    /// A new file appeared (`IN_CREATE`: a writer may still have it open, or it is a hard link).
    case created(String)
    /// A scan saw the file (start-up, a new folder, after an overflow, or a poll): nothing is known
    /// about whether a writer is still busy with it.
    case discovered(String)
    /// The file was deleted or moved out.
    case removed(String)
    /// A full rescan finished (at start-up and after the kernel's event queue overflowed).
    case rescanned

    public var path: String? {
        switch self {
        case let .closedWrite(p), let .movedIn(p), let .created(p), let .discovered(p), let .removed(p): return p
        case .rescanned: return nil
        }
    }
}

/// Watches an inbox folder and its sub-folders (tasks) for files arriving.
///
/// `inotify` mode: one inotify instance, a watch on every folder (new folders are watched as they
/// appear and scanned, since files may land in them before the watch exists), events read through
/// `DispatchSource.makeReadSource` on the inotify descriptor. When the kernel queue overflows
/// (`IN_Q_OVERFLOW`), events were lost, so the whole tree is rescanned. `poll` mode, for network
/// filesystems where inotify sees nothing, scans the tree every `interval` and reports files that
/// are new or changed since the last scan.
///
/// Either way `start()` ends with a full scan, so files dropped while nothing was watching are
/// reported as `.discovered`. The watch is installed before the scan, so a file arriving during
/// start-up is reported at least once. Hidden files (`.name`, as rsync and editors use while
/// writing) and temporary suffixes (`~`, `.tmp`, `.part`, `.partial`, `.crdownload`, `.swp`) are
/// ignored: they are renamed to their final name when complete.
///
/// All state lives on `queue`; `handler` is called there. Call `start`/`stop` from another queue.
public final class InboxWatcher: @unchecked Sendable {
    public enum Mode: Sendable, Equatable {
        case inotify
        case poll(interval: TimeInterval)
    }

    public let root: URL
    public let mode: Mode
    private let queue: DispatchQueue
    private let handler: @Sendable (InboxEvent) -> Void

    private var fd: Int32 = -1
    private var source: DispatchSourceRead?
    private var pollTimer: DispatchSourceTimer?
    private var folderOf: [Int32: String] = [:]
    private var watchOf: [String: Int32] = [:]
    private var polled: [String: FileSignature] = [:]
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    /// How many times the kernel queue overflowed (each answered by a rescan). For tests and logs.
    public private(set) var overflowCount = 0
    /// Deepest folder nesting below the root that is watched.
    public static let maxDepth = 8

    private static let watchMask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE)
        | UInt32(IN_MOVED_FROM) | UInt32(IN_DELETE) | UInt32(IN_DELETE_SELF) | UInt32(IN_ONLYDIR)
        | UInt32(IN_DONT_FOLLOW) | UInt32(IN_EXCL_UNLINK)

    public init(root: URL, mode: Mode = .inotify, queue: DispatchQueue, handler: @escaping @Sendable (InboxEvent) -> Void) {
        self.root = root.standardizedFileURL
        self.mode = mode
        self.queue = queue
        self.handler = handler
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Installs the watches (inotify) or the poll timer, then scans the whole tree.
    /// Throws if the root is not a folder or inotify cannot be set up.
    public func start() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir), isDir.boolValue else {
            throw InboxWatcherError.notAFolder(root.path)
        }
        try queue.sync {
            switch mode {
            case .inotify:
                fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
                guard fd >= 0 else { throw InboxWatcherError.inotify(String(cString: strerror(errno))) }
                let src = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
                src.setEventHandler { [weak self] in self?.drain() }
                source = src
                try watchTree(root.path, depth: 0, report: false)
                src.resume()
                scanAll()
            case let .poll(interval):
                pollOnce()
                handler(.rescanned)
                let timer = DispatchSource.makeTimerSource(queue: queue)
                let ns = Int(max(interval, 0.01) * 1e9)
                timer.schedule(deadline: .now() + .nanoseconds(ns), repeating: .nanoseconds(ns), leeway: .nanoseconds(ns / 10))
                timer.setEventHandler { [weak self] in self?.pollOnce() }
                pollTimer = timer
                timer.resume()
            }
        }
    }

    /// Stops watching; no handler call starts after `stop` returns.
    public func stop() {
        queue.sync {
            source?.cancel()
            source = nil
            pollTimer?.cancel()
            pollTimer = nil
            if fd >= 0 { close(fd); fd = -1 }
            folderOf.removeAll()
            watchOf.removeAll()
        }
    }

    /// Whether a file or folder name is one the watcher reports (see the type's documentation).
    public static func isCandidateName(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") { return false }
        let lower = name.lowercased()
        return ![".tmp", ".part", ".partial", ".crdownload", ".swp"].contains { lower.hasSuffix($0) }
    }

    /// The folders currently watched (inotify mode).
    public var watchedFolders: [String] {
        queue.sync { Array(watchOf.keys).sorted() }
    }

    // MARK: inotify

    private func watchTree(_ path: String, depth: Int, report: Bool) throws {
        guard depth <= Self.maxDepth, fd >= 0 else { return }
        let wd = inotify_add_watch(fd, path, Self.watchMask)
        guard wd >= 0 else {
            if path == root.path { throw InboxWatcherError.inotify("\(path): \(String(cString: strerror(errno)))") }
            return // a folder that vanished meanwhile, or one we may not read: skip it
        }
        folderOf[wd] = path
        watchOf[path] = wd
        for (name, kind) in Self.entries(of: path) where Self.isCandidateName(name) {
            let child = path + "/" + name
            switch kind {
            case .folder: try watchTree(child, depth: depth + 1, report: report)
            case .file: if report { handler(.discovered(child)) }
            }
        }
    }

    private func scanAll() {
        for (path, _) in Self.files(below: root.path) { handler(.discovered(path)) }
        handler(.rescanned)
    }

    private func drain() {
        while fd >= 0 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return } // EAGAIN: drained
            var offset = 0
            var overflowed = false
            buffer.withUnsafeBytes { raw in
                while offset + 16 <= n {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let len = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    var name = ""
                    if len > 0 {
                        let bytes = raw[(offset + 16) ..< (offset + 16 + len)]
                        name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    offset += 16 + len
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 { overflowed = true; continue }
                    handle(wd: wd, mask: mask, name: name)
                }
            }
            if overflowed { recoverFromOverflow() }
        }
    }

    private func handle(wd: Int32, mask: UInt32, name: String) {
        if mask & UInt32(IN_IGNORED) != 0 || mask & UInt32(IN_DELETE_SELF) != 0 {
            if let folder = folderOf.removeValue(forKey: wd) { watchOf.removeValue(forKey: folder) }
            return
        }
        guard let folder = folderOf[wd], !name.isEmpty, Self.isCandidateName(name) else { return }
        let path = folder + "/" + name
        let isDir = mask & UInt32(IN_ISDIR) != 0
        if isDir {
            if mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0 {
                let depth = path.dropFirst(root.path.count).split(separator: "/").count
                try? watchTree(path, depth: depth, report: true)
            } else if mask & UInt32(IN_MOVED_FROM) != 0 {
                unwatchTree(path)
            }
            return
        }
        if mask & UInt32(IN_CLOSE_WRITE) != 0 {
            if Self.isRegularFile(path) { handler(.closedWrite(path)) }
        } else if mask & UInt32(IN_MOVED_TO) != 0 {
            if Self.isRegularFile(path) { handler(.movedIn(path)) }
        } else if mask & UInt32(IN_CREATE) != 0 {
            if Self.isRegularFile(path) { handler(.created(path)) }
        } else if mask & (UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM)) != 0 {
            handler(.removed(path))
        }
    }

    /// A folder moved out of (or within) the inbox: its watches would report under a stale path.
    private func unwatchTree(_ path: String) {
        for (folder, wd) in watchOf where folder == path || folder.hasPrefix(path + "/") {
            inotify_rm_watch(fd, wd)
            watchOf.removeValue(forKey: folder)
            folderOf.removeValue(forKey: wd)
        }
    }

    /// Events were lost: re-watch every folder (some may have appeared unseen) and rescan.
    private func recoverFromOverflow() {
        overflowCount += 1
        try? watchTree(root.path, depth: 0, report: false)
        scanAll()
    }

    // MARK: poll

    private func pollOnce() {
        var now: [String: FileSignature] = [:]
        for (path, signature) in Self.files(below: root.path) {
            now[path] = signature
            if polled[path] != signature { handler(.discovered(path)) }
        }
        for path in polled.keys where now[path] == nil { handler(.removed(path)) }
        polled = now
    }

    // MARK: scanning

    enum EntryKind { case file, folder }

    /// Regular files and folders directly in `path` (links and special files left out).
    static func entries(of path: String) -> [(String, EntryKind)] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [(String, EntryKind)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var st = stat()
            guard lstat(path + "/" + name, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFREG: out.append((name, .file))
            case S_IFDIR: out.append((name, .folder))
            default: continue
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Every candidate regular file below `path`, with its signature, in path order.
    static func files(below path: String, depth: Int = 0) -> [(String, FileSignature)] {
        guard depth <= maxDepth else { return [] }
        var out: [(String, FileSignature)] = []
        for (name, kind) in entries(of: path) where isCandidateName(name) {
            let child = path + "/" + name
            switch kind {
            case .file: if let s = FileSignature(path: child) { out.append((child, s)) }
            case .folder: out += files(below: child, depth: depth + 1)
            }
        }
        return out
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }
}

/// What identifies one version of a file without reading it: a change to any part means the
/// content may have changed (and must be hashed again).
public struct FileSignature: Hashable, Sendable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64
    public let size: Int64
    /// Modification time in nanoseconds since 1970.
    public let modified: Int64

    /// The signature of a regular file (not following a link), or nil.
    public init?(path: String) {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    public var description: String { "\(size) bytes, inode \(inode), mtime \(modified)" }
}

public enum InboxWatcherError: Error, CustomStringConvertible {
    case notAFolder(String)
    case inotify(String)

    public var description: String {
        switch self {
        case let .notAFolder(path): return "\(path): the inbox is not a folder"
        case let .inotify(why): return "inotify: \(why)"
        }
    }
}
