import Foundation
import SiraIO
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// `sira-pipeline verify` on packages a real run published, intact and damaged.
@Suite(.serialized) struct CLIVerifyTests {
    @Test func verifyAcceptsPublishedPackagesAndNamesTheDamagedMember() throws {
        let p = try TinyPipeline.small()
        #expect(try p.run().status == 0)
        let index = try #require(try CheckpointIndex.latest(workspace: p.workspace, pipeline: "tiny"))
        let files = index.packages.map(\.file).sorted()
        #expect(files.count == 3)
        let ok = try p.command(["verify"] + files)
        #expect(ok.status == 0, "\(ok.stderr)")
        for f in files { #expect(ok.stdout.contains("\(f): ok: "), "\(ok.stdout)") }

        // The GNU tools agree the package is sound, and list its members.
        let adapterPackage = try #require(files.first { $0.hasSuffix("add-lora.sira") })
        let listing = try systemTool(["tar", "--zstd", "-tf", adapterPackage], in: p.root)
        #expect(listing.status == 0)
        let members = Set(listing.stdout.split(separator: "\n").map(String.init))
        #expect(members == ["manifest.json", "adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "SHA256SUMS"])

        // One flipped byte in the middle of the file: refused, naming the package and a member.
        var bytes = [UInt8](try Data(contentsOf: p.root.appendingPathComponent(adapterPackage)))
        bytes[bytes.count / 2] ^= 0x10
        try p.tw.write("", to: "damaged/flipped.sira")
        try Data(bytes).write(to: p.root.appendingPathComponent("damaged/flipped.sira"))
        #expect(try systemTool(["zstd", "-q", "-t", "damaged/flipped.sira"], in: p.root).status != 0) // zstd agrees
        let flipped = try p.command(["verify", files[0], "damaged/flipped.sira"])
        #expect(flipped.status == 1)
        #expect(flipped.stdout.contains("\(files[0]): ok: "))   // the sound one still reported ok
        let named = flipped.stderr.hasPrefix("damaged/flipped.sira: ") ? String(flipped.stderr.dropFirst("damaged/flipped.sira: ".count)) : ""
        let member = String(named.prefix { $0 != ":" })
        #expect(members.contains(member), "\(flipped.stderr)")

        // One flipped byte inside a member, repacked by GNU tar with the original SHA256SUMS:
        // verify names exactly that member, with the digest `sha256sum` computes for the original.
        let unpacked = p.root.appendingPathComponent("damaged/unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        #expect(try systemTool(["tar", "--zstd", "-xf", p.root.appendingPathComponent(adapterPackage).path], in: unpacked).status == 0)
        let original = try systemTool(["sha256sum", "adapter_model.safetensors"], in: unpacked).stdout.prefix(64)
        let weights = unpacked.appendingPathComponent("adapter_model.safetensors")
        var w = [UInt8](try Data(contentsOf: weights))
        w[w.count - 7] ^= 0x01
        try Data(w).write(to: weights)
        let order = listing.stdout.split(separator: "\n").map(String.init)
        #expect(try systemTool(["tar", "--zstd", "-cf", "../repacked.sira"] + order, in: unpacked).status == 0)
        let repacked = try p.command(["verify", "damaged/repacked.sira"])
        #expect(repacked.status == 1)
        #expect(repacked.stderr.hasPrefix("damaged/repacked.sira: adapter_model.safetensors: sha256 mismatch: SHA256SUMS says \(original), content is "),
                "\(repacked.stderr)")
        let json = try #require(try decodeJSON(try p.command(["verify", "--json", "damaged/repacked.sira", files[0]])) as? [[String: Any]])
        #expect(json.compactMap { $0["ok"] as? Bool } == [false, true])

        let absent = try p.command(["verify", "damaged/none.sira"])
        #expect(absent.status == 1 && absent.stderr.contains("damaged/none.sira"))
    }
}
