import Foundation
import SiraIO
import Testing
@testable import SiraStore

/// Crafted archives (Python's tarfile + the zstd CLI) each with one forbidden member after a
/// harmless one, and the problem the reader must refuse them with.
private let crafted: [(String, String, PackageProblem)] = [
    ("dotdot", "add('ok.txt', b'x')\nadd('../x', b'escaped')", .parentComponent),
    ("nested-dotdot", "add('ok.txt', b'x')\nadd('a/../../x', b'escaped')", .parentComponent),
    ("absolute", "add('ok.txt', b'x')\nadd('/tmp/sira-abs-x', b'escaped')", .absolutePath),
    ("symlink", "add('ok.txt', b'x')\nadd('link', b'', tarfile.SYMTYPE, '/etc/passwd')", .link(target: "/etc/passwd")),
    ("hardlink", "add('ok.txt', b'x')\nadd('hard', b'', tarfile.LNKTYPE, 'ok.txt')", .link(target: "ok.txt")),
    ("fifo", "add('ok.txt', b'x')\nadd('pipe', b'', tarfile.FIFOTYPE)", .notRegular(type: "6")),
    ("chardev", "add('ok.txt', b'x')\nadd('tty', b'', tarfile.CHRTYPE)", .notRegular(type: "3")),
    ("duplicate", "add('ok.txt', b'x')\nadd('dup.txt', b'x')\nadd('dup.txt', b'y')", .duplicate),
    ("file-then-folder", "add('a', b'x')\nadd('a/b', b'y')", .duplicate),
    ("control-char", "add('ok.txt', b'x')\nadd('bad\\x01name', b'y')", .unsafeName),
    ("pax-path-escape", "info = tarfile.TarInfo('harmless')\ninfo.size = 1\ninfo.pax_headers = {'path': '../pax-x'}\nt.addfile(info, io.BytesIO(b'z'))", .parentComponent),
]

@Test(arguments: 0 ..< crafted.count)
func craftedArchivesAreRefusedAndWriteNothingOutside(index: Int) throws {
    let (label, body, problem) = crafted[index]
    let dir = try scratchFolder("pkg-crafted-\(label)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let pkg = dir.appendingPathComponent("evil.sira")
    try pythonTar(body, to: pkg)
    let error = try #require(verifyProblem(pkg), "\(label) was accepted")
    #expect(error.problem == problem, "\(label): \(error)")
    #expect(error.package == pkg.path && error.entry != nil && error.entry != "ok.txt", "\(error)")

    let parent = dir.appendingPathComponent("unpack")
    #expect(throws: PackageError.self) { try SiraPackage.extract(pkg, into: parent) }
    // The temporary folder is gone; nothing escaped next to it or above it.
    #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty)
    #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["evil.sira", "unpack"])
    #expect(!FileManager.default.fileExists(atPath: "/tmp/sira-abs-x"))
}

@Test func theNameCheckNormalisesAndRefuses() throws {
    #expect(try TarReader.safeName("./a//b/./c.txt") == "a/b/c.txt")
    #expect(try TarReader.safeName("./") == "")
    for (name, problem) in [("/etc/x", PackageProblem.absolutePath), ("a/../b", .parentComponent), ("..", .parentComponent),
                            ("", .unsafeName), ("a\\b", .unsafeName), ("tab\there", .unsafeName)] {
        #expect(throws: Error.self) { try TarReader.safeName(name) }
        do { _ = try TarReader.safeName(name) } catch let f as EntryFailure { #expect(f.problem == problem, "\(name)") }
    }
}

@Test func aHeaderDeclaringMoreThanTheBoundIsRefusedBeforeDecompressing() throws {
    let dir = try scratchFolder("pkg-bomb-header")
    defer { try? FileManager.default.removeItem(at: dir) }
    // A ustar header that claims 1 GiB, followed by 64 KiB of zeros: refused at the header.
    var tar = TarFormat.header(name: "bomb.bin", size: 1 << 30, mtime: 0)
    tar += [UInt8](repeating: 0, count: 1 << 16)
    let pkg = dir.appendingPathComponent("bomb.sira")
    try zstdCLI(tar, to: pkg)
    let compressed = try Data(contentsOf: pkg).count
    let bound = PackageLimits.default.bound(compressedBytes: compressed)
    #expect(bound == 256 << 20) // a tiny archive may expand to the floor only
    let error = try #require(verifyProblem(pkg))
    #expect(error.problem == .tooLarge(limit: bound) && error.entry == "bomb.bin", "\(error)")
}

@Test func decompressedBytesBeyondTheBoundAreRefusedWhileStreaming() throws {
    let dir = try scratchFolder("pkg-bomb-stream")
    defer { try? FileManager.default.removeItem(at: dir) }
    // Three members of 3 MiB of zeros each compress to almost nothing; a 7 MiB bound stops the
    // reader in the third member, counting real decompressed bytes.
    let pkg = dir.appendingPathComponent("zeros.sira")
    try pythonTar("for i in range(3):\n    add('z%d.bin' % i, bytes(3 << 20))", to: pkg)
    let limits = PackageLimits(maxTotalBytes: 7 << 20)
    let error = try #require(verifyProblem(pkg, limits: limits))
    #expect(error.problem == .tooLarge(limit: 7 << 20) && error.entry == "z2.bin", "\(error)")
    let parent = dir.appendingPathComponent("unpack")
    #expect(throws: PackageError.self) { try SiraPackage.extract(pkg, into: parent, limits: limits) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty)

    // Zeros after the end-of-archive marker count too.
    var tar = TarFormat.header(name: "a", size: 1, mtime: 0) + [0x41] + [UInt8](repeating: 0, count: 511)
    tar += [UInt8](repeating: 0, count: 9 << 20)
    let trailing = dir.appendingPathComponent("trailing.sira")
    try zstdCLI(tar, to: trailing)
    #expect(verifyProblem(trailing, limits: limits)?.problem == .tooLarge(limit: 7 << 20))
    // And with the default bound, those zeros are harmless padding: the archive reads (and then
    // fails for lack of a manifest, which is the next check).
    #expect(verifyProblem(trailing)?.problem == .missingFile)
    #expect(verifyProblem(trailing)?.entry == "manifest.json")

    // The ratio rule: the bound grows with the archive, capped by maxTotalBytes.
    let l = PackageLimits(maxTotalBytes: 1 << 40, maxRatio: 1000, ratioFloorBytes: 256 << 20)
    #expect(l.bound(compressedBytes: 1_000) == 256 << 20)
    #expect(l.bound(compressedBytes: 1_000_000) == 1_000_000_000)
    #expect(l.bound(compressedBytes: Int.max) == 1 << 40)
}

@Test func tooManyEntriesAreRefused() throws {
    let dir = try scratchFolder("pkg-many")
    defer { try? FileManager.default.removeItem(at: dir) }
    let pkg = dir.appendingPathComponent("many.sira")
    try pythonTar("for i in range(33):\n    add('f%d' % i, b'')", to: pkg)
    #expect(verifyProblem(pkg, limits: PackageLimits(maxEntries: 32))?.problem == .tooManyEntries(limit: 32))
}

@Test func truncatedAndNonArchiveInputsFailClearly() throws {
    let dir = try scratchFolder("pkg-truncated")
    defer { try? FileManager.default.removeItem(at: dir) }
    // Several zstd blocks (128 KiB each), so the cut falls inside the adapter's data.
    let fx = try PackageFixture(in: dir, weights: 129 * 1024)
    let pkg = dir.appendingPathComponent("p.sira")
    try SiraPackage.write(to: pkg, manifest: fx.manifest, files: fx.files)
    let bytes = try Data(contentsOf: pkg)
    let cut = dir.appendingPathComponent("cut.sira")
    try bytes.prefix(bytes.count / 2).write(to: cut)
    let e1 = try #require(verifyProblem(cut))
    #expect(e1.problem == .zstd("truncated stream (the last frame is incomplete)"), "\(e1)")
    #expect(e1.entry == "adapter.safetensors")

    let text = dir.appendingPathComponent("text.sira")
    try Data("hello, not an archive\n".utf8).write(to: text)
    let e2 = try #require(verifyProblem(text))
    #expect(e2.entry == nil && "\(e2)".hasPrefix("\(text.path): archive data is corrupt: zstd: "), "\(e2)")

    // A valid zstd stream of something that is not a tar.
    let notTar = dir.appendingPathComponent("nottar.sira")
    try zstdCLI([UInt8](repeating: 0x41, count: 1024), to: notTar)
    #expect(verifyProblem(notTar)?.problem == .corruptHeader("header checksum does not match"))

    let missing = dir.appendingPathComponent("missing.sira")
    #expect(verifyProblem(missing).map { "\($0)" }?.contains("no such file") == true)
}
