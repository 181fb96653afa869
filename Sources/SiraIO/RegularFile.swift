import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a path names, found with `stat` (links followed) without opening it: a FIFO, a device or a
/// socket must never be opened for reading (a FIFO blocks forever, `/dev/zero` never ends).
public enum FileKind: Equatable, Sendable {
    case regular, folder, fifo, characterDevice, blockDevice, socket, missing, other

    public init(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { self = .missing; return }
        switch st.st_mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .folder
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFSOCK: self = .socket
        default: self = .other
        }
    }

    /// How an error names it ("a folder", "a FIFO (named pipe)", ...).
    public var phrase: String {
        switch self {
        case .regular: "a regular file"
        case .folder: "a folder"
        case .fifo: "a FIFO (named pipe)"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .socket: "a socket"
        case .missing: "missing"
        case .other: "not a regular file"
        }
    }
}

/// The refusal of a path that is not a regular file, naming the path and what it is.
public struct NotARegularFile: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let kind: FileKind
    public init(path: String, kind: FileKind) { self.path = path; self.kind = kind }
    public var description: String {
        kind == .missing ? "\(path): no such file" : "\(path): is \(kind.phrase), not a regular file"
    }
}

public enum RegularFile {
    /// Throws `NotARegularFile` unless `path` (links followed) is a regular file. Call before
    /// opening any file named from outside (CLI argument, inbox entry, manifest path).
    public static func require(_ path: String) throws {
        let kind = FileKind(path: path)
        if kind != .regular { throw NotARegularFile(path: path, kind: kind) }
    }
}
