import Foundation
import Testing
@testable import SiraPipeline

/// Issue 16, item 4: a manifest whose training shape cannot fit this machine is refused by
/// `validate` (naming the key and the estimate) and fails its train stage in `run`, instead of
/// the process dying in the allocator.
@Suite struct MemoryLimitCLITests {
    @Test func anImpossibleTrainingShapeIsRefusedByValidateAndFailsItsStage() throws {
        let p = try TinyPipeline(variants: "lora: {r: 2}", trainExtra: "")
        let manifest = try String(contentsOf: p.root.appendingPathComponent(p.manifestPath), encoding: .utf8)
            .replacingOccurrences(of: "train: {steps: 6, batch: 2, seq_len: 16,", with: "train: {steps: 6, batch: 4096, seq_len: 65536,")
        try p.tw.write(manifest, to: p.manifestPath)
        let v = try p.cli(["validate", p.manifestPath]).wait()
        #expect(v.status == 65)
        #expect(v.stderr.contains("\(p.manifestPath): train: batch 4096 × seq_len 65536 needs about ") && v.stderr.contains("GiB"), "\(v.stderr)")

        let run = try p.run()
        #expect(run.status != 0)
        #expect((run.stdout + run.stderr).contains("train: batch 4096 × seq_len 65536 needs about "), "\(run.stdout)\n\(run.stderr)")
        #expect(!(run.stdout + run.stderr).contains("failed to allocate"))
    }
}
