#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A read-only memory map of a whole file. Token shards and safetensors weights are read through
/// this so the OS pages them in on demand and shares them between processes.
///
/// The mapping lives as long as the object; `bytes` must not escape it.
public final class MappedFile: @unchecked Sendable {
    public let url: URL
    public let count: Int
    private let base: UnsafeMutableRawPointer?

    public init(_ url: URL) throws {
        try RegularFile.require(url.path)
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw MappedFileError.cannotOpen(url.path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw MappedFileError.cannotOpen(url.path, String(cString: strerror(errno))) }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw MappedFileError.cannotMap(url.path, String(cString: strerror(errno))) }
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    /// The file's bytes; valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }
}

public enum MappedFileError: Error, CustomStringConvertible {
    case cannotOpen(String, String)
    case cannotMap(String, String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, why): return "\(path): cannot open: \(why)"
        case let .cannotMap(path, why): return "\(path): cannot memory-map: \(why)"
        }
    }
}
