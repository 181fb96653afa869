#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The one-scheduler-per-workspace lock (DESIGN.md §7): an exclusive `flock` on
/// `data/scheduler.lock`, held by the kernel for as long as the file descriptor is open, so it
/// disappears with the process however it dies (even `kill -9`); there is never a stale lock to
/// clean up by hand. The holder writes who it is into the file so a refused process can say so.
public final class WorkspaceLock: @unchecked Sendable {
    /// Who holds a workspace.
    public struct Holder: Codable, Sendable, Equatable, CustomStringConvertible {
        public var pid: Int32
        public var host: String
        public var since: Date
        public var command: String

        public var description: String {
            "pid \(pid) on \(host) since \(Timestamp.format(since)) (\(command))"
        }
    }

    public let url: URL
    public let holder: Holder
    private var fd: Int32

    /// Takes the lock or throws `WorkspaceBusy` naming the holder. Never waits.
    public init(workspace: Workspace, command: String) throws {
        url = workspace.lockURL
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WorkspaceLockError.cannotOpen(url.path, String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            close(fd)
            guard err == EWOULDBLOCK else { throw WorkspaceLockError.cannotOpen(url.path, String(cString: strerror(err))) }
            throw WorkspaceBusy(workspace: workspace.root.path, holder: Self.readHolder(url))
        }
        holder = Holder(pid: getpid(), host: Self.hostName, since: Date(), command: command)
        let bytes = Array((try? JSONEncoder.canonical.encode(holder)) ?? Data())
        _ = ftruncate(fd, 0)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        _ = fsync(fd)
    }

    deinit { release() }

    /// Gives the lock up (also happens when the process exits).
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        close(fd)
        fd = -1
    }

    /// The holder recorded in the lock file, if readable (it may be mid-write or empty).
    public static func readHolder(_ url: URL) -> Holder? {
        guard let data = try? Data(contentsOf: url), !data.isEmpty else { return nil }
        return try? JSONDecoder.pipeline.decode(Holder.self, from: data)
    }

    public static let hostName: String = {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "unknown-host" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}

/// Another scheduler holds the workspace.
public struct WorkspaceBusy: Error, CustomStringConvertible {
    public var workspace: String
    public var holder: WorkspaceLock.Holder?

    public var description: String {
        if let holder {
            return "workspace \(workspace) is in use by another sira-pipeline scheduler: \(holder); wait for it to finish or stop it (kill -TERM \(holder.pid))"
        }
        return "workspace \(workspace) is in use by another sira-pipeline scheduler (it is starting; try again in a moment)"
    }
}

public enum WorkspaceLockError: Error, CustomStringConvertible {
    case cannotOpen(String, String)
    public var description: String {
        switch self {
        case let .cannotOpen(path, why): return "\(path): cannot open the workspace lock: \(why)"
        }
    }
}
