import Foundation
import SiraIO
import Testing
@testable import SiraStore

@Test(arguments: [(1, 33), (4, 33), (3, 1 << 20)])
func pipelinedHashingMatchesTheSerialHash(slots: Int, slotBytes: Int) {
    let data = (0 ..< 129 * 1031 + 7).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
    let expected = ContentHash.sha256(data)
    let hasher = PipelinedHasher(slots: slots, slotBytes: slotBytes)
    data.withUnsafeBytes { all in
        var offset = 0, step = 1
        while offset < all.count {   // chunks of 1, 2, 4, ... bytes: smaller and larger than a slot
            let n = min(step, all.count - offset)
            hasher.update(UnsafeRawBufferPointer(rebasing: all[offset ..< offset + n]))
            offset += n
            step = step * 2 % 70_001 + 1
        }
    }
    #expect(hasher.finalize() == expected)
    #expect(data.withUnsafeBytes { StreamHasher.hash($0) } == expected)
}

@Test func largeMembersRoundTripThroughTheThreadedHashes() throws {
    let dir = try scratchFolder("pkg-large")
    defer { try? FileManager.default.removeItem(at: dir) }
    var fx = try PackageFixture(in: dir, weights: 1)
    let big = fakeWeights(count: (4 << 20) / 4 + 33, seed: 3)   // just over the 4 MiB threshold
    let src = dir.appendingPathComponent("big.bin")
    try AtomicFile.write(big, to: src)
    fx.files.append(PackageFile(name: "big.safetensors", source: src))
    let pkg = dir.appendingPathComponent("big.sira")
    let written = try SiraPackage.write(to: pkg, manifest: fx.manifest, files: fx.files, level: 1)
    #expect(written.files.first { $0.name == "big.safetensors" }?.sha256 == ContentHash.sha256(big))
    #expect(try SiraPackage.verify(pkg).files == written.files)
    let out = dir.appendingPathComponent("gnu")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    #expect(try runTool(["tar", "--zstd", "-xf", pkg.path, "-C", out.path]).status == 0)
    #expect(try runTool(["sha256sum", "--strict", "-c", "SHA256SUMS"], in: out).status == 0)
}
