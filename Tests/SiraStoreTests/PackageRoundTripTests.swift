import Foundation
import SiraIO
import Testing
@testable import SiraStore

@Test func packageRoundTripsThroughOurReaderAndGNUTar() throws {
    let dir = try scratchFolder("pkg-roundtrip")
    defer { try? FileManager.default.removeItem(at: dir) }
    let longName = "adapters/" + String(repeating: "very-long-folder-name/", count: 5) + "notes-ü.txt"
    let fx = try PackageFixture(in: dir, extraName: longName)
    let pkg = dir.appendingPathComponent("out/dates.sira")
    let written = try SiraPackage.write(to: pkg, manifest: fx.manifest, files: fx.files, level: 3)
    #expect(written.files.map(\.name) == ["manifest.json", "adapter.safetensors", longName, "tokenizer.json", "SHA256SUMS"])
    #expect(written.packageSHA256 == (try ContentHash.sha256(file: pkg)))
    #expect(written.packageBytes == Int64(try Data(contentsOf: pkg).count))
    #expect(try FileManager.default.contentsOfDirectory(atPath: pkg.deletingLastPathComponent().path) == ["dates.sira"])

    // Our reader: every member's bytes hash as the sources, the manifest comes back equal.
    let read = try SiraPackage.verify(pkg)
    // (Compared encoded: the fixture's NaN metric is never == itself.)
    #expect(try read.manifest.encoded() == fx.manifest.encoded())
    #expect(read.files == written.files)
    for (name, bytes) in fx.contents {
        #expect(read.files.first { $0.name == name }?.sha256 == ContentHash.sha256(bytes))
    }
    #expect(read.manifest.adapters["dates"]?.metrics["router_entropy"]?.isNaN == true)

    // The system tools: zstd checks the frame checksum, GNU tar lists and extracts, sha256sum agrees.
    #expect(try runTool(["zstd", "-q", "-t", pkg.path]).status == 0)
    let listing = try runTool(["tar", "--zstd", "-tf", pkg.path])
    #expect(listing.status == 0, "\(listing.err)")
    #expect(listing.out.split(separator: "\n").map(String.init) == written.files.map(\.name))
    let out = dir.appendingPathComponent("gnu")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let x = try runTool(["tar", "--zstd", "-xf", pkg.path, "-C", out.path])
    #expect(x.status == 0, "\(x.err)")
    for (name, bytes) in fx.contents {
        #expect(Array(try Data(contentsOf: out.appendingPathComponent(name))) == bytes, "\(name)")
    }
    let check = try runTool(["sha256sum", "--strict", "-c", "SHA256SUMS"], in: out)
    #expect(check.status == 0, "\(check.out)\(check.err)")
    let manifestJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json")))
    let root = try #require(manifestJSON as? [String: Any])
    #expect(root["format"] as? String == "sira-package" && root["created_at"] as? String == "2023-11-14T22:13:20Z")

    // Our extraction: a fresh folder holding exactly the members.
    let extracted = try SiraPackage.extract(pkg, into: dir.appendingPathComponent("ours"))
    #expect(extracted.folder.deletingLastPathComponent().lastPathComponent == "ours")
    #expect(extracted.contents.files == read.files && extracted.contents.decompressedBytes == read.decompressedBytes)
    for (name, bytes) in fx.contents {
        #expect(Array(try Data(contentsOf: extracted.folder.appendingPathComponent(name))) == bytes, "\(name)")
    }
}

@Test(arguments: [0, 1, 511, 512, 513, 129 * 1024 + 33])
func memberSizesAroundBlockBoundariesRoundTrip(bytes: Int) throws {
    let dir = try scratchFolder("pkg-sizes")
    defer { try? FileManager.default.removeItem(at: dir) }
    var fx = try PackageFixture(in: dir, weights: 1)
    let payload = (0 ..< bytes).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
    let src = dir.appendingPathComponent("payload.bin")
    try AtomicFile.write(payload, to: src)
    fx.files.append(PackageFile(name: "extra/payload.bin", source: src))
    let pkg = dir.appendingPathComponent("p.sira")
    try SiraPackage.write(to: pkg, manifest: fx.manifest, files: fx.files, level: 1)
    let read = try SiraPackage.verify(pkg)
    #expect(read.files.first { $0.name == "extra/payload.bin" } ==
            PackagedFile(name: "extra/payload.bin", bytes: Int64(bytes), sha256: ContentHash.sha256(payload)))
    let listing = try runTool(["tar", "--zstd", "-tvf", pkg.path])
    #expect(listing.status == 0 && listing.out.contains(" \(bytes) "), "\(listing.out)")
}

@Test(arguments: ["gnu", "pax", "ustar"])
func packagesMadeByGNUTarAreRead(format: String) throws {
    let dir = try scratchFolder("pkg-gnutar")
    defer { try? FileManager.default.removeItem(at: dir) }
    let fx = try PackageFixture(in: dir)
    let staged = dir.appendingPathComponent("staged")
    for (name, bytes) in fx.contents { try AtomicFile.write(bytes, to: staged.appendingPathComponent(name)) }
    try AtomicFile.write(try fx.manifest.encoded(), to: staged.appendingPathComponent("manifest.json"))
    let names = ["manifest.json", "adapter.safetensors", "tokenizer.json"]
    let sums = try runTool(["sha256sum"] + names, in: staged)
    try AtomicFile.write(sums.out, to: staged.appendingPathComponent("SHA256SUMS"))

    // Named members.
    let pkg = dir.appendingPathComponent("named.sira")
    let c = try runTool(["tar", "--zstd", "--format=\(format)", "-cf", pkg.path, "-C", staged.path] + names + ["SHA256SUMS"])
    #expect(c.status == 0, "\(c.err)")
    let read = try SiraPackage.verify(pkg)
    #expect(try read.manifest.encoded() == fx.manifest.encoded())
    #expect(Set(read.files.map(\.name)) == Set(names + ["SHA256SUMS"]))

    // The whole folder as `.`: a directory entry and `./` prefixes, as a user repacking would make.
    let dot = dir.appendingPathComponent("dot.sira")
    #expect(try runTool(["tar", "--zstd", "--format=\(format)", "-cf", dot.path, "-C", staged.path, "."]).status == 0)
    let listing = try runTool(["tar", "--zstd", "-tf", dot.path]).out
    #expect(listing.contains("./manifest.json") && listing.hasPrefix("./\n"))
    let dotRead = try SiraPackage.verify(dot)
    #expect(Set(dotRead.files.map(\.name)) == Set(names + ["SHA256SUMS"]))
}

@Test func gnuTarLongNamesAreRead() throws {
    let dir = try scratchFolder("pkg-gnulong")
    defer { try? FileManager.default.removeItem(at: dir) }
    let longName = String(repeating: "n", count: 140) + ".txt"
    var fx = try PackageFixture(in: dir)
    fx.contents[longName] = Array("long\n".utf8)
    let staged = dir.appendingPathComponent("staged")
    for (name, bytes) in fx.contents { try AtomicFile.write(bytes, to: staged.appendingPathComponent(name)) }
    try AtomicFile.write(try fx.manifest.encoded(), to: staged.appendingPathComponent("manifest.json"))
    let names = ["manifest.json", "adapter.safetensors", "tokenizer.json", longName]
    try AtomicFile.write(try runTool(["sha256sum"] + names, in: staged).out, to: staged.appendingPathComponent("SHA256SUMS"))
    let pkg = dir.appendingPathComponent("long.sira")
    // GNU format stores a name over 100 bytes in a ././@LongLink ('L') entry.
    #expect(try runTool(["tar", "--zstd", "--format=gnu", "-cf", pkg.path, "-C", staged.path] + names + ["SHA256SUMS"]).status == 0)
    let read = try SiraPackage.verify(pkg)
    #expect(read.files.contains { $0.name == longName && $0.sha256 == ContentHash.sha256(Array("long\n".utf8)) })
}
