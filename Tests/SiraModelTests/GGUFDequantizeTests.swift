import Foundation
import SiraIO
import SiraKernels
import Testing
@testable import SiraModel

/// Every ggml type we read, dequantised by our kernels and by the PyPI `gguf` package from the same
/// bytes in a file `gguf.GGUFWriter` wrote: identical bits, on 1, 7 and 33 rows, incl. an all-zero
/// row, near-f16-limit values and all-zero blocks.
@Suite struct GGUFDequantizeTests {
    @Test func everyTypeMatchesTheGGUFPackageBitForBit() throws {
        let folder = try scratchFolder("gguf-quants")
        defer { try? FileManager.default.removeItem(at: folder) }
        try runPython([fixturesFolder.appendingPathComponent("gguf_quant_fixture.py").path, folder.path])
        let file = try GGUFFile(folder.appendingPathComponent("quants.gguf"))
        let names = try String(contentsOf: folder.appendingPathComponent("names.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(names.count == 36 && file.tensors.count == 36)
        #expect(file["test.note"]?.string == "dequantisation fixtures")
        var types = Set<UInt32>()
        for name in names {
            let t = try #require(file.tensor(name))
            types.insert(t.type)
            let ours = try file.floats(t)
            let data = try Data(contentsOf: folder.appendingPathComponent(name + ".f32"))
            let theirs = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(ours.count == theirs.count, "\(name)")
            let differing = zip(ours, theirs).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(name): \(differing) of \(ours.count) values differ, first \(zip(ours, theirs).first { $0.bitPattern != $1.bitPattern }.map { "\($0)" } ?? "")")
        }
        #expect(types.count == 12)
    }
}
