import Foundation
import SiraIO

/// Appends bytes to a file through a 1 MiB buffer and hashes them on the way, so a snapshot's
/// files are written in one pass and their SHA-256 is known without reading them back.
final class BufferedWriter {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var hasher = ContentHasher()
    private(set) var count = 0

    init(creating url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = try FileHandle(forWritingTo: url)
        buffer.reserveCapacity(1 << 20)
    }

    func append(_ bytes: [UInt8]) throws {
        buffer += bytes
        count += bytes.count
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        hasher.update(buffer)
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs and closes; returns the SHA-256 of everything written.
    func finish() throws -> String {
        try flush()
        try handle.synchronize()
        try handle.close()
        return hasher.finalize()
    }
}
