import Foundation
import SiraIO
import Testing
@testable import SiraStore

@Test(arguments: [0.35, 0.5, 0.65])
func aCorruptedByteFailsVerifyNamingTheFile(at fraction: Double) throws {
    let dir = try scratchFolder("pkg-corrupt")
    defer { try? FileManager.default.removeItem(at: dir) }
    let fx = try PackageFixture(in: dir, weights: 129 * 1024)
    let pkg = dir.appendingPathComponent("p.sira")
    try SiraPackage.write(to: pkg, manifest: fx.manifest, files: fx.files)
    var bytes = [UInt8](try Data(contentsOf: pkg))
    bytes[Int(Double(bytes.count) * fraction)] ^= 0x5A
    try Data(bytes).write(to: pkg)
    #expect(try runTool(["zstd", "-q", "-t", pkg.path]).status != 0) // the independent tool agrees
    let error = try #require(verifyProblem(pkg))
    #expect(error.entry == "adapter.safetensors", "\(error)")
    #expect("\(error)".hasPrefix("\(pkg.path): adapter.safetensors: "))
}

@Test func aCorruptedByteInAGNUTarPackageIsNamedToo() throws {
    let dir = try scratchFolder("pkg-corrupt-gnu")
    defer { try? FileManager.default.removeItem(at: dir) }
    var s = try Staged(dir)
    // Incompressible adapter bytes: zstd stores them raw, so the flip changes content silently and
    // only the frame checksum (at the very end of GNU tar's single frame) notices.
    var state: UInt64 = 88172645463325252
    let noise = (0 ..< 300_007).map { _ -> UInt8 in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
    try AtomicFile.write(noise, to: s.staged.appendingPathComponent("adapter.safetensors"))
    s.members = ["manifest.json", "adapter.safetensors", "tokenizer.json"]
    let pkg = try s.pack()
    #expect(verifyProblem(pkg) == nil)
    var bytes = [UInt8](try Data(contentsOf: pkg))
    bytes[bytes.count / 2] ^= 0x01
    try Data(bytes).write(to: pkg)
    let error = try #require(verifyProblem(pkg))
    #expect(error.entry == "adapter.safetensors", "\(error)")
    guard case .checksumMismatch = error.problem else { Issue.record("\(error)"); return }
}

/// A package staged as files, tarred by GNU tar: lets a test break one thing at a time.
private struct Staged {
    let dir: URL, staged: URL
    var manifest: [String: Any]
    var members = ["manifest.json", "adapter.safetensors", "tokenizer.json"]

    init(_ dir: URL) throws {
        self.dir = dir
        staged = dir.appendingPathComponent("staged")
        let fx = try PackageFixture(in: dir)
        for (name, bytes) in fx.contents { try AtomicFile.write(bytes, to: staged.appendingPathComponent(name)) }
        manifest = try JSONSerialization.jsonObject(with: Data(try fx.manifest.encoded())) as! [String: Any]
    }

    /// Writes manifest.json and SHA256SUMS (unless `sums` is given), tars, returns the package.
    func pack(sums: String? = nil, extra: [String] = []) throws -> URL {
        let json = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        try AtomicFile.write(Array(json), to: staged.appendingPathComponent("manifest.json"))
        let text = try sums ?? runTool(["sha256sum"] + members, in: staged).out
        try AtomicFile.write(text, to: staged.appendingPathComponent("SHA256SUMS"))
        let pkg = dir.appendingPathComponent("staged-\(UUID().uuidString.prefix(8)).sira")
        let r = try runTool(["tar", "--zstd", "-cf", pkg.path, "-C", staged.path] + members + extra + ["SHA256SUMS"])
        #expect(r.status == 0, "\(r.err)")
        return pkg
    }
}

@Test func verifyChecksEveryMemberAgainstSHA256SUMS() throws {
    let dir = try scratchFolder("pkg-sums")
    defer { try? FileManager.default.removeItem(at: dir) }
    let s = try Staged(dir)
    #expect(verifyProblem(try s.pack()) == nil)

    try AtomicFile.write("stowaway\n", to: s.staged.appendingPathComponent("extra.txt"))
    let unlisted = try #require(verifyProblem(try s.pack(extra: ["extra.txt"])))
    #expect(unlisted.entry == "extra.txt" && unlisted.problem == .notListed, "\(unlisted)")

    let sums = try runTool(["sha256sum"] + s.members, in: s.staged).out
    let ghost = sums + String(repeating: "0", count: 64) + "  ghost.bin\n"
    let missing = try #require(verifyProblem(try s.pack(sums: ghost)))
    #expect(missing.entry == "ghost.bin" && missing.problem == .missingFile, "\(missing)")

    let garbled = sums.replacingOccurrences(of: "  tokenizer.json", with: " tokenizer.json")
    let bad = try #require(verifyProblem(try s.pack(sums: garbled)))
    guard case let .badChecksumLine(line, _) = bad.problem else { Issue.record("\(bad)"); return }
    #expect(line == 3 && bad.entry == "SHA256SUMS")

    let adapterHash = ContentHash.sha256(try [UInt8](Data(contentsOf: s.staged.appendingPathComponent("adapter.safetensors"))))
    let wrong = sums.replacingOccurrences(of: adapterHash, with: String(repeating: "e", count: 64))
    let mismatch = try #require(verifyProblem(try s.pack(sums: wrong)))
    #expect(mismatch.entry == "adapter.safetensors"
            && mismatch.problem == .checksumMismatch(expected: String(repeating: "e", count: 64), actual: adapterHash))
}

@Test func tamperedContentInsideAValidStreamNamesTheFile() throws {
    let dir = try scratchFolder("pkg-tamper")
    defer { try? FileManager.default.removeItem(at: dir) }
    let fx = try PackageFixture(in: dir)
    let pkg = dir.appendingPathComponent("p.sira")
    try SiraPackage.write(to: pkg, manifest: fx.manifest, files: fx.files)
    // Decompress with the zstd tool, change one byte of tokenizer.json, recompress.
    let tarURL = dir.appendingPathComponent("p.tar")
    #expect(try runTool(["zstd", "-q", "-d", pkg.path, "-o", tarURL.path]).status == 0)
    var tar = [UInt8](try Data(contentsOf: tarURL))
    let needle = Array(#""vocab""#.utf8)
    let at = try #require((0 ..< tar.count - needle.count).first { Array(tar[$0 ..< $0 + needle.count]) == needle })
    tar[at + 1] = UInt8(ascii: "V")
    let tampered = dir.appendingPathComponent("tampered.sira")
    try zstdCLI(tar, to: tampered)
    let error = try #require(verifyProblem(tampered))
    #expect(error.entry == "tokenizer.json", "\(error)")
    guard case .checksumMismatch = error.problem else { Issue.record("\(error)"); return }
}

@Test(arguments: [
    ("base", "sha256", "base.sha256: missing"),
    ("tokenizer", "sha256", "tokenizer.sha256: missing"),
    ("", "tool_version", "tool_version: missing"),
    ("", "created_at", "created_at: missing"),
    ("", "format_version", "format_version: missing"),
    ("", "adapters", "adapters: missing"),
    ("adapter", "config", "adapters.dates.config: missing"),
    ("adapter", "metrics", "adapters.dates.metrics: missing"),
    ("adapter", "tasks", "adapters.dates.tasks: missing"),
])
func manifestRequiredKeysAreCheckedByName(parent: String, key: String, expected: String) throws {
    let dir = try scratchFolder("pkg-manifest")
    defer { try? FileManager.default.removeItem(at: dir) }
    var s = try Staged(dir)
    switch parent {
    case "": s.manifest[key] = nil
    case "adapter":
        var adapters = s.manifest["adapters"] as! [String: Any]
        var dates = adapters["dates"] as! [String: Any]
        dates[key] = nil
        adapters["dates"] = dates
        s.manifest["adapters"] = adapters
    default:
        var object = s.manifest[parent] as! [String: Any]
        object[key] = nil
        s.manifest[parent] = object
    }
    let error = try #require(verifyProblem(try s.pack()))
    #expect(error.entry == "manifest.json" && error.problem == .manifest(expected), "\(error)")
}

@Test func manifestReferencesAndTokenizerHashAreChecked() throws {
    let dir = try scratchFolder("pkg-manifest-refs")
    defer { try? FileManager.default.removeItem(at: dir) }
    var s = try Staged(dir)
    var adapters = s.manifest["adapters"] as! [String: Any]
    var dates = adapters["dates"] as! [String: Any]
    dates["file"] = "missing.safetensors"
    adapters["dates"] = dates
    s.manifest["adapters"] = adapters
    #expect(verifyProblem(try s.pack())?.problem == .manifest("adapters.dates.file: 'missing.safetensors' is not in the package"))

    var t = try Staged(dir.appendingPathComponent("t"))
    t.manifest["tokenizer"] = ["file": "tokenizer.json", "sha256": String(repeating: "1", count: 64)]
    let e = try #require(verifyProblem(try t.pack()))
    #expect(e.entry == "tokenizer.json" && "\(e)".contains("tokenizer.sha256"), "\(e)")

    var f = try Staged(dir.appendingPathComponent("f"))
    f.manifest["format_version"] = 2
    #expect(verifyProblem(try f.pack())?.problem == .manifest("format_version: 2 is not supported (this tool reads up to 1)"))
}

@Test func theWriterRefusesBadInputAndLeavesNothing() throws {
    let dir = try scratchFolder("pkg-writer")
    defer { try? FileManager.default.removeItem(at: dir) }
    let fx = try PackageFixture(in: dir)
    let out = dir.appendingPathComponent("out")
    let pkg = out.appendingPathComponent("p.sira")
    func problem(_ manifest: PackageManifest, _ files: [PackageFile]) -> PackageError? {
        do { try SiraPackage.write(to: pkg, manifest: manifest, files: files); return nil } catch {
            return error as? PackageError
        }
    }
    let src = fx.files[0].source
    #expect(problem(fx.manifest, fx.files + [PackageFile(name: "../x", source: src)])?.problem == .parentComponent)
    #expect(problem(fx.manifest, fx.files + [PackageFile(name: "/abs", source: src)])?.problem == .absolutePath)
    #expect(problem(fx.manifest, fx.files + [PackageFile(name: "./a", source: src)])?.problem == .unsafeName)
    #expect(problem(fx.manifest, fx.files + [PackageFile(name: "manifest.json", source: src)])?.problem == .duplicate)
    #expect(problem(fx.manifest, fx.files + [fx.files[0]])?.problem == .duplicate)
    #expect(problem(fx.manifest, [fx.files[1]])?.problem == .manifest("adapters.dates.file: 'adapter.safetensors' is not in the package"))
    var m = fx.manifest
    m.kind = .adapter
    m.adapters["other"] = m.adapters["dates"]
    #expect(problem(m, fx.files)?.problem == .manifest("adapters: an 'adapter' package holds exactly one adapter, this one 2"))
    m.kind = .bundle
    #expect(problem(m, fx.files) == nil) // a bundle may hold several
    try FileManager.default.removeItem(at: pkg)
    var wrong = fx.manifest
    wrong.tokenizer.sha256 = String(repeating: "0", count: 64)
    let e = try #require(problem(wrong, fx.files))
    #expect(e.entry == "tokenizer.json" && "\(e)".contains("hashes to"), "\(e)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
}
