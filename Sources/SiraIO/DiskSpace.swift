#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Free space, and "disk full" said with the path and what is left: a full disk is a normal
/// event for an unattended tool, and the user needs to know which file system to clear.
public enum DiskSpace {
    /// Bytes available to this user on the file system holding `url` (its nearest existing
    /// ancestor); nil when it cannot be read.
    public static func available(at url: URL) -> Int64? {
        var probe = url
        while !FileManager.default.fileExists(atPath: probe.path), probe.path != "/" { probe.deleteLastPathComponent() }
        var s = statvfs()
        guard statvfs(probe.path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    /// Whether `error` (Foundation's or POSIX's) means the device is full.
    public static func isFull(_ error: any Error) -> Bool {
        let e = error as NSError
        if e.domain == NSPOSIXErrorDomain, e.code == Int(ENOSPC) { return true }
        if e.domain == NSCocoaErrorDomain, e.code == NSFileWriteOutOfSpaceError { return true }
        if let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError { return isFull(underlying) }
        return false
    }

    /// "N MB free", for messages.
    public static func describe(at url: URL) -> String {
        guard let bytes = available(at: url) else { return "free space unknown" }
        return String(format: "%.1f MB free", Double(bytes) / 1e6)
    }
}

/// A write that failed because the disk is full, naming the file and the space left.
public struct DiskFullError: Error, CustomStringConvertible {
    public let path: String
    public let free: String
    public init(path: String) {
        self.path = path
        free = DiskSpace.describe(at: URL(fileURLWithPath: path))
    }
    public var description: String { "\(path): the disk is full (\(free) on its file system); free some space and run again" }
}
