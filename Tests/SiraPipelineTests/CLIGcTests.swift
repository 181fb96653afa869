import Foundation
import SiraIO
import SiraStore
import Testing
@testable import SiraPipeline

/// `sira-pipeline gc` on a workspace with real runs: what goes, what stays, and that the newest
/// successful package of a pipeline always stays.
@Suite(.serialized) struct CLIGcTests {
    /// Three runs: 1 succeeded, 2 succeeded on changed `add` data, 3 failed (unusable `add` data).
    func threeRuns() throws -> TinyPipeline {
        let p = try TinyPipeline.small()
        #expect(try p.run().status == 0)
        try p.writeAdd(offset: 100)
        #expect(try p.run().status == 0)
        try p.tw.write("not json\n", to: "data/src/add.jsonl")
        _ = try p.run()
        #expect(try p.store().runs().map(\.status) == [.failed, .succeeded, .succeeded])
        return p
    }

    @Test func gcKeepsTheNewestSuccessfulPackageAndRemovesOnlyWhatThePolicySays() throws {
        let p = try threeRuns()
        let store = try p.store()
        #expect(p.exists("checkpoints/tiny/1") && p.exists("checkpoints/tiny/2") && p.exists("checkpoints/tiny/3"))

        // --dry-run lists run 1 and removes nothing.
        let dry = try p.command(["gc", "--keep", "1", "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = try #require(try decodeJSON(dry.stdout) as? [String: Any])
        let decisions = try #require(plan["decisions"] as? [[String: Any]])
        let removed = decisions.filter { $0["delete"] as? Bool == true }.compactMap { ($0["run"] as? [String: Any])?["id"] as? Int }
        #expect(removed == [1])
        #expect(try store.runs().count == 3)
        #expect(p.exists("checkpoints/tiny/1"))

        // --keep 1: run 3 is the newest; run 2 stays although beyond it (newest successful package).
        let kept = try p.command(["gc", "--keep", "1"])
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(try store.runs().map(\.id) == [3, 2])
        #expect(!p.exists("checkpoints/tiny/1"))
        #expect(tableRow(kept.stdout, first: "2")?.contains("kept") == true, "\(kept.stdout)")

        // --keep 0: run 3 goes, run 2 still stays, and its packages still verify.
        let none = try p.command(["gc", "--keep", "0"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(try store.runs().map(\.id) == [2])
        #expect(!p.exists("checkpoints/tiny/3"))
        let packages = try FileManager.default.contentsOfDirectory(atPath: p.root.appendingPathComponent("checkpoints/tiny/2").path)
            .filter { $0.hasSuffix(".sira") }.map { "checkpoints/tiny/2/\($0)" }
        #expect(packages.count == 3)
        for pkg in packages { #expect(try SiraPackage.verify(p.root.appendingPathComponent(pkg)).manifest.pipeline == "tiny") }
        #expect(try p.command(["verify"] + packages).status == 0)
        #expect(try store.integrityCheck() == ["ok"])

        let usage = try p.command(["gc"])
        #expect(usage.status != 0 && usage.stderr.contains("give --keep N, --older-than D, or both"))
    }
}
