#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SiraIO

/// A package that passed every check.
public struct PackageContents: Sendable, Equatable {
    public var manifest: PackageManifest
    /// Members in archive order, with the sizes and hashes of their actual bytes.
    public var files: [PackagedFile]
    public var compressedBytes: Int64
    /// All decompressed bytes (tar headers and padding included).
    public var decompressedBytes: Int64
}

/// A package unpacked into a folder of its own.
public struct ExtractedPackage: Sendable, Equatable {
    /// A fresh folder (`<parent>/.sira-extract-XXXXXX`) holding exactly the package's members. The
    /// caller owns it: publish it with `AtomicFile.publish` (after `syncTree`) or remove it.
    public var folder: URL
    public var contents: PackageContents
}

extension SiraPackage {
    /// Reads the whole package without writing anything and checks, reporting the first problem:
    /// the zstd stream and tar structure (safety rules of `TarReader`, the decompressed-size bound
    /// of `limits`), `SHA256SUMS` against every member (each member listed, each listed member
    /// present, every hash equal), the manifest's required keys and the files it references, and
    /// the tokenizer's hash. Throws `PackageError`.
    public static func verify(_ url: URL, limits: PackageLimits = .default) throws -> PackageContents {
        try scan(url, limits: limits, into: nil)
    }

    /// Checks the package as `verify` does while unpacking it into a new folder inside `parent`
    /// (created if needed). Nothing is written outside that folder; on any problem the folder is
    /// removed and the error thrown.
    public static func extract(_ url: URL, into parent: URL, limits: PackageLimits = .default) throws -> ExtractedPackage {
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        var template = Array(parent.appendingPathComponent(".sira-extract-XXXXXX").path.utf8CString)
        guard let made = mkdtemp(&template) else {
            throw PackageError(package: url.path, entry: nil,
                               problem: .io("cannot create a folder in \(parent.path): \(String(cString: strerror(errno)))"))
        }
        let folder = URL(fileURLWithPath: String(cString: made))
        do {
            let contents = try scan(url, limits: limits, into: folder)
            return ExtractedPackage(folder: folder, contents: contents)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// The single pass behind `verify` and `extract`.
    private static func scan(_ url: URL, limits: PackageLimits, into folder: URL?) throws -> PackageContents {
        let pkg = url.path
        let mapped: MappedFile
        do { mapped = try MappedFile(url) } catch {
            throw PackageError(package: pkg, entry: nil, problem: .io("\(error)"))
        }
        var read = MemberScan()
        do {
            try readMembers(mapped, limits: limits, into: folder, pkg: pkg, ignoreChecksum: false, &read)
        } catch let failure as EntryFailure {
            // A stream that breaks after SHA256SUMS was read is best explained by the member whose
            // hash differs. When it breaks before (a single-frame archive from GNU tar, where the
            // zstd checksum fails at the very end and libzstd returns nothing of the last block),
            // a second pass that ignores the zstd checksum finds that member.
            if let mismatch = firstMismatch(read, pkg: pkg) { throw mismatch }
            if case .zstd = failure.problem {
                var again = MemberScan()
                if (try? readMembers(mapped, limits: limits, into: nil, pkg: pkg, ignoreChecksum: true, &again)) != nil,
                   let mismatch = firstMismatch(again, pkg: pkg) {
                    throw mismatch
                }
            }
            throw PackageError(package: pkg, entry: failure.entry, problem: failure.problem)
        }
        let (files, manifestBytes, sumsBytes) = (read.files, read.manifestBytes, read.sumsBytes)
        guard let manifestBytes else { throw PackageError(package: pkg, entry: manifestName, problem: .missingFile) }
        guard let sumsBytes else { throw PackageError(package: pkg, entry: checksumsName, problem: .missingFile) }
        let sums = try parseSums(sumsBytes, pkg: pkg)
        if let mismatch = try compare(files, sums, pkg: pkg, requireAll: true) { throw mismatch }
        if let why = PackageManifest.problem(inJSON: manifestBytes, files: Set(files.map(\.name))) {
            throw PackageError(package: pkg, entry: manifestName, problem: .manifest(why))
        }
        let manifest: PackageManifest
        do { manifest = try PackageManifest.decode(manifestBytes) } catch {
            throw PackageError(package: pkg, entry: manifestName, problem: .manifest("\(error)"))
        }
        if let tokenizer = files.first(where: { $0.name == manifest.tokenizer.file }),
           tokenizer.sha256 != manifest.tokenizer.sha256.lowercased() {
            throw PackageError(package: pkg, entry: tokenizer.name, problem: .manifest(
                "manifest.json says tokenizer.sha256 is \(manifest.tokenizer.sha256), the file hashes to \(tokenizer.sha256)"))
        }
        if let folder { AtomicFile.syncFolder(folder) }
        return PackageContents(manifest: manifest, files: files, compressedBytes: Int64(mapped.count),
                               decompressedBytes: read.consumed)
    }

    /// What one pass over the members collected (kept as far as it got when the pass fails).
    private struct MemberScan {
        var files: [PackagedFile] = []
        var manifestBytes: [UInt8]?
        var sumsBytes: [UInt8]?
        var consumed: Int64 = 0
    }

    /// Decompresses and walks the tar, hashing every member (and writing it into `folder` when
    /// given); throws `EntryFailure`.
    private static func readMembers(_ mapped: MappedFile, limits: PackageLimits, into folder: URL?, pkg: String,
                                    ignoreChecksum: Bool, _ scan: inout MemberScan) throws {
        let zstd: ZstdReader
        do { zstd = try ZstdReader(mapped.bytes, ignoreChecksum: ignoreChecksum) } catch let e as ZstdError {
            throw EntryFailure(entry: nil, problem: .zstd(e.message))
        }
        let tar = TarReader(source: zstd, limit: limits.bound(compressedBytes: mapped.count), maxEntries: limits.maxEntries)
        defer { scan.consumed = tar.consumed }
        while let entry = try tar.next() {
            let keep = entry.name == manifestName || entry.name == checksumsName
            if keep, entry.size > 16 << 20 {
                throw EntryFailure(entry: entry.name, problem: .manifest("larger than 16 MiB"))
            }
            // Large members are hashed on a second thread while this one decompresses.
            let pipelined = entry.size >= 4 << 20 ? PipelinedHasher() : nil
            var hasher = StreamHasher()
            var kept: [UInt8] = []
            let fd = try folder.map { try createMember(entry.name, in: $0) } ?? -1
            defer { if fd >= 0 { close(fd) } }
            try tar.readData { chunk in
                if let pipelined { pipelined.update(chunk) } else { hasher.update(chunk) }
                if keep { kept.append(contentsOf: chunk) }
                if fd >= 0 { try writeAll(fd, chunk, path: pkg) }
            }
            let digest = pipelined?.finalize() ?? hasher.finalize()
            scan.files.append(PackagedFile(name: entry.name, bytes: entry.size, sha256: digest))
            if entry.name == manifestName { scan.manifestBytes = kept }
            if entry.name == checksumsName { scan.sumsBytes = kept }
        }
    }

    /// The first member whose hash disagrees with SHA256SUMS, if the scan got that far.
    private static func firstMismatch(_ scan: MemberScan, pkg: String) -> PackageError? {
        guard let bytes = scan.sumsBytes, let sums = try? parseSums(bytes, pkg: pkg),
              let mismatch = try? compare(scan.files, sums, pkg: pkg, requireAll: false) else { return nil }
        return mismatch
    }

    /// `SHA256SUMS` as name → lowercase hex, in sha256sum's format (`<hex>  <name>`, or
    /// `<hex> *<name>` in binary mode).
    static func parseSums(_ bytes: [UInt8], pkg: String) throws -> [String: String] {
        var sums: [String: String] = [:]
        let text = String(decoding: bytes, as: UTF8.self)
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            let chars = Array(line.utf8)
            let bad = PackageError(package: pkg, entry: checksumsName,
                                   problem: .badChecksumLine(line: i + 1, text: String(line.prefix(120))))
            guard chars.count > 66, chars[64] == 0x20, chars[65] == 0x20 || chars[65] == 0x2A,
                  chars[0 ..< 64].allSatisfy({ (0x30 ... 0x39).contains($0) || (0x61 ... 0x66).contains($0 | 0x20) })
            else { throw bad }
            guard let name = try? TarReader.safeName(String(decoding: chars[66...], as: UTF8.self)), !name.isEmpty,
                  sums[name] == nil else { throw bad }
            sums[name] = String(decoding: chars[0 ..< 64], as: UTF8.self).lowercased()
        }
        return sums
    }

    /// The first disagreement between the members read and `SHA256SUMS`, in archive order: a
    /// member not listed, a hash that differs, then (when `requireAll`) a listed member missing.
    static func compare(_ files: [PackagedFile], _ sums: [String: String], pkg: String,
                        requireAll: Bool) throws -> PackageError? {
        for file in files where file.name != checksumsName {
            guard let expected = sums[file.name] else {
                return PackageError(package: pkg, entry: file.name, problem: .notListed)
            }
            if expected != file.sha256 {
                return PackageError(package: pkg, entry: file.name,
                                    problem: .checksumMismatch(expected: expected, actual: file.sha256))
            }
        }
        if requireAll {
            let present = Set(files.map(\.name))
            for name in sums.keys.sorted() where !present.contains(name) {
                return PackageError(package: pkg, entry: name, problem: .missingFile)
            }
        }
        return nil
    }

    /// Creates a member's file (and its folders) inside `folder`, refusing to follow or replace
    /// anything: the names are already checked, this is the second lock.
    private static func createMember(_ name: String, in folder: URL) throws -> Int32 {
        let parts = name.split(separator: "/")
        var path = folder.path
        for part in parts.dropLast() {
            path += "/" + part
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw EntryFailure(entry: name, problem: .io("cannot create folder: \(String(cString: strerror(errno)))"))
            }
        }
        path += "/" + parts.last!
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw EntryFailure(entry: name, problem: .io("cannot create file: \(String(cString: strerror(errno)))"))
        }
        return fd
    }
}
