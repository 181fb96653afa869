#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SiraIO

/// A file to put in a package: its name inside the archive and where its bytes are now.
public struct PackageFile: Sendable, Equatable {
    public var name: String
    public var source: URL

    public init(name: String, source: URL) {
        self.name = name
        self.source = source
    }
}

/// One member of a package as written or read.
public struct PackagedFile: Codable, Sendable, Equatable {
    public var name: String
    public var bytes: Int64
    public var sha256: String
}

/// What `SiraPackage.write` produced.
public struct PackageWriteResult: Sendable, Equatable {
    /// Members in archive order (manifest.json, the files, SHA256SUMS).
    public var files: [PackagedFile]
    /// Uncompressed bytes of all members.
    public var inputBytes: Int64
    /// Size and sha256 of the `.sira` file itself (for the artifacts table).
    public var packageBytes: Int64
    public var packageSHA256: String
}

/// `.sira` packages (DESIGN.md §6): a zstd-compressed POSIX tar, `tar --zstd -xf` opens it.
/// Members, in order: `manifest.json`, the caller's files (adapter `.safetensors`,
/// `tokenizer.json`, ...), `SHA256SUMS` (sha256sum format, covering every other member).
///
/// Each member is its own zstd frame, preceded by a skippable label frame naming it: a corrupt
/// byte trips the checksum of the frame holding it, and the reader names that member.
public enum SiraPackage {
    public static let manifestName = "manifest.json"
    public static let checksumsName = "SHA256SUMS"

    /// Writes a package to `url` atomically (temporary file, fsync, rename): a crash leaves the
    /// old file or none. One streaming pass: each file is memory-mapped, hashed and compressed
    /// chunk by chunk, so memory stays small whatever the sizes.
    ///
    /// Refuses (before writing anything) unsafe or duplicate member names, reserved names, and a
    /// manifest that misses required keys or references a file not given; refuses (removing the
    /// temporary file) a tokenizer whose bytes do not hash to `manifest.tokenizer.sha256`.
    /// `level`: zstd level; `workers`: zstd compression threads (0: the calling thread only).
    @discardableResult
    public static func write(to url: URL, manifest: PackageManifest, files: [PackageFile], level: Int32 = 3,
                             workers: Int32 = 0, mtime: Date = Date()) throws -> PackageWriteResult {
        let pkg = url.path
        var seen: Set<String> = [manifestName, checksumsName]
        for file in files {
            let safe: String
            do { safe = try TarReader.safeName(file.name) } catch let f as EntryFailure {
                throw PackageError(package: pkg, entry: file.name, problem: f.problem)
            }
            guard safe == file.name, seen.insert(file.name).inserted else {
                throw PackageError(package: pkg, entry: file.name, problem: safe == file.name ? .duplicate : .unsafeName)
            }
        }
        let manifestBytes = try manifest.encoded()
        if let why = PackageManifest.problem(inJSON: manifestBytes, files: Set(files.map(\.name))) {
            throw PackageError(package: pkg, entry: manifestName, problem: .manifest(why))
        }
        let stamp = Int64(mtime.timeIntervalSince1970)
        var members: [PackagedFile] = []
        var packageHasher = StreamHasher()
        var packageBytes: Int64 = 0
        try AtomicFile.write(to: url) { handle in
            let fd = handle.fileDescriptor
            let zstd = try ZstdWriter(level: level, workers: workers) { chunk in
                try writeAll(fd, chunk, path: pkg)
                packageHasher.update(chunk)
                packageBytes += Int64(chunk.count)
            }
            let tar = TarWriter { try zstd.write($0) }
            try zstd.label(manifestName)
            try tar.addFile(name: manifestName, contents: manifestBytes, mtime: stamp)
            try zstd.endFrame()
            members.append(PackagedFile(name: manifestName, bytes: Int64(manifestBytes.count),
                                        sha256: ContentHash.sha256(manifestBytes)))
            for file in files {
                let mapped: MappedFile
                do { mapped = try MappedFile(file.source) } catch {
                    throw PackageError(package: pkg, entry: file.name, problem: .io("\(error)"))
                }
                let size = Int64(mapped.count)
                try zstd.label(file.name)
                try tar.beginFile(name: file.name, size: size, mtime: stamp)
                // Large files are hashed on a second thread while this one compresses.
                let background = mapped.count >= 4 << 20 ? BackgroundHash(mapped) : nil
                var hasher = StreamHasher()
                var offset = 0
                let bytes = mapped.bytes
                while offset < bytes.count {
                    let chunk = UnsafeRawBufferPointer(rebasing: bytes[offset ..< min(bytes.count, offset + (1 << 20))])
                    if background == nil { hasher.update(chunk) }
                    try tar.writeData(chunk)
                    offset += chunk.count
                }
                try tar.endFile(size: size)
                try zstd.endFrame()
                let digest = background?.wait() ?? hasher.finalize()
                if file.name == manifest.tokenizer.file, digest != manifest.tokenizer.sha256 {
                    throw PackageError(package: pkg, entry: file.name, problem: .manifest(
                        "tokenizer.sha256 is \(manifest.tokenizer.sha256) but the file hashes to \(digest)"))
                }
                members.append(PackagedFile(name: file.name, bytes: size, sha256: digest))
            }
            let sums = Array(members.map { "\($0.sha256)  \($0.name)\n" }.joined().utf8)
            try zstd.label(checksumsName)
            try tar.addFile(name: checksumsName, contents: sums, mtime: stamp)
            members.append(PackagedFile(name: checksumsName, bytes: Int64(sums.count), sha256: ContentHash.sha256(sums)))
            try tar.finish()
            try zstd.endFrame()
        }
        return PackageWriteResult(files: members, inputBytes: members.reduce(0) { $0 + $1.bytes },
                                  packageBytes: packageBytes, packageSHA256: packageHasher.finalize())
    }

    /// SHA-256 of a mapped file computed on another thread; `wait` returns it.
    private final class BackgroundHash: @unchecked Sendable {
        private var digest = ""
        private let done = DispatchSemaphore(value: 0)

        init(_ file: MappedFile) {
            DispatchQueue.global().async {
                self.digest = StreamHasher.hash(file.bytes)
                self.done.signal()
            }
        }

        func wait() -> String {
            done.wait()
            return digest
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            #else
            let n = Darwin.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                throw PackageError(package: path, entry: nil, problem: .io("write failed: \(String(cString: strerror(errno)))"))
            }
            offset += n
        }
    }
}
