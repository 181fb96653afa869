#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Reads a file front to back in fixed-size chunks with `read(2)`: the readers' only way into a
/// dataset, so memory stays bounded by the chunk size however large the file is.
final class ChunkedFileReader {
    let path: String
    private let fd: Int32
    private(set) var bytesRead = 0

    init(_ url: URL) throws {
        path = url.path
        fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw DatasetFileError.cannotOpen(url.path, String(cString: strerror(errno))) }
    }

    deinit { close(fd) }

    /// Fills `buffer[offset...]` as far as the file allows; returns the number of bytes added
    /// (0 only at end of file).
    func read(into buffer: UnsafeMutableRawBufferPointer, offset: Int) throws -> Int {
        var total = 0
        while offset + total < buffer.count {
            let n = systemRead(fd, buffer.baseAddress! + offset + total, buffer.count - offset - total)
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetFileError.cannotRead(path, String(cString: strerror(errno)))
            }
            if n == 0 { break }
            total += n
        }
        bytesRead += total
        return total
    }
}

private func systemRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, p, n)
    #else
    return Darwin.read(fd, p, n)
    #endif
}

/// Splits a file into lines without holding more than one buffer of it. Lines end at LF; a CR
/// before the LF is dropped; a UTF-8 byte-order mark at the start of the file is dropped. A line
/// longer than `maxLineBytes` is reported as `.tooLong` (with its start, for the excerpt) and
/// skipped to its end without being buffered.
struct LineReader {
    enum Event {
        case line(number: Int, bytes: UnsafeRawBufferPointer)
        case tooLong(number: Int, length: Int, start: UnsafeRawBufferPointer)
    }

    let file: ChunkedFileReader
    let maxLineBytes: Int

    init(_ url: URL, maxLineBytes: Int) throws {
        file = try ChunkedFileReader(url)
        self.maxLineBytes = maxLineBytes
    }

    var bytesRead: Int { file.bytesRead }

    func forEach(_ body: (Event) throws -> Void) throws {
        // The buffer starts at 1 MiB and doubles while a line that is still within the limit
        // does not fit, up to maxLineBytes + 1.
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(maxLineBytes + 1, 1 << 20), alignment: 16)
        defer { buffer.deallocate() }
        var filled = 0
        var lineNumber = 1
        var first = true
        var skipping = false // inside an over-long line, discarding until its LF
        var skipLength = 0
        var skipExcerpt: [UInt8] = []
        var eof = false

        func emit(_ start: Int, _ end: Int) throws {
            if end - start > maxLineBytes {
                let excerpt = UnsafeRawBufferPointer(rebasing: buffer[start ..< start + RejectedRecord.excerptLimit])
                try body(.tooLong(number: lineNumber, length: end - start, start: excerpt))
                return
            }
            var e = end
            if e > start, buffer[e - 1] == 0x0D { e -= 1 }
            try body(.line(number: lineNumber, bytes: UnsafeRawBufferPointer(rebasing: buffer[start ..< e])))
        }

        func endSkip() throws {
            skipping = false
            try skipExcerpt.withUnsafeBytes { excerpt in
                try body(.tooLong(number: lineNumber, length: skipLength, start: excerpt))
            }
        }

        while !eof {
            let n = try file.read(into: buffer, offset: filled)
            if n == 0 { eof = true }
            var start = 0
            if first {
                first = false
                if filled + n >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { start = 3 }
            }
            let end = filled + n
            var scan = filled
            while true {
                let remaining = end - scan
                guard remaining > 0,
                      let hit = memchr(buffer.baseAddress! + scan, 0x0A, remaining)
                else { break }
                let nl = buffer.baseAddress!.distance(to: hit)
                if skipping {
                    skipLength += nl - start
                    try endSkip()
                } else {
                    try emit(start, nl)
                }
                lineNumber += 1
                start = nl + 1
                scan = start
            }
            if eof {
                if skipping {
                    skipLength += end - start
                    try endSkip()
                } else if end > start {
                    try emit(start, end)
                }
                break
            }
            if skipping {
                skipLength += end - start
                filled = 0
                continue
            }
            let pending = end - start
            if pending > maxLineBytes {
                skipping = true
                skipLength = pending
                skipExcerpt = Array(UnsafeRawBufferPointer(rebasing: buffer[start ..< start + min(pending, RejectedRecord.excerptLimit)]))
                filled = 0
                continue
            }
            if start > 0, pending > 0 {
                memmove(buffer.baseAddress!, buffer.baseAddress! + start, pending)
            }
            filled = pending
            if filled == buffer.count {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: min(buffer.count * 2, maxLineBytes + 1), alignment: 16)
                bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
                buffer.deallocate()
                buffer = bigger
            }
        }
    }
}

/// A dataset file that cannot be used at all (as opposed to a bad row). The ingest moves such a
/// file to the quarantine whole, with this description as its `.reason`.
public enum DatasetFileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(String, String)
    case cannotRead(String, String)
    case unsupportedType(String, String)
    case badHeader(String, String)
    case noUsableRecords(String, String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, why): return "\(path): cannot open: \(why)"
        case let .cannotRead(path, why): return "\(path): cannot read: \(why)"
        case let .unsupportedType(path, ext):
            return "\(path): unsupported file type \"\(ext)\" (expected .jsonl, .ndjson, .csv, .tsv or .txt)"
        case let .badHeader(path, why): return "\(path):1: \(why)"
        case let .noUsableRecords(path, why): return "\(path): no usable records: \(why)"
        }
    }
}
