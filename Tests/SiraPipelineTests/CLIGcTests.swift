import Foundation
import SiraIO
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

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

    /// The bytes removing `paths` frees, from GNU find's inode numbers and link counts: a file
    /// counts once, and only when all its links are among the removed.
    func freedBytes(_ p: TinyPipeline, _ paths: [String]) throws -> Int64 {
        guard !paths.isEmpty else { return 0 }
        let found = try systemTool(["find"] + paths + ["-type", "f", "-printf", "%i %n %s\\n"], in: p.root)
        #expect(found.status == 0, "\(found.stderr)")
        var inodes: [String: (links: Int, size: Int64, seen: Int)] = [:]
        for line in found.stdout.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            var e = inodes[f[0]] ?? (Int(f[1])!, Int64(f[2])!, 0)
            e.seen += 1
            inodes[f[0]] = e
        }
        return inodes.values.reduce(0) { $0 + ($1.seen == $1.links ? $1.size : 0) }
    }

    @Test func gcKeepsTheNewestSuccessfulPackageAndRemovesOnlyWhatNothingKeptUses() throws {
        let p = try threeRuns()
        let store = try p.store()
        #expect(p.exists("checkpoints/tiny/1") && p.exists("checkpoints/tiny/2") && p.exists("checkpoints/tiny/3"))
        let entries = p.cacheEntries()
        let keptRefs = try p.cacheReferences(store, run: 2).union(try p.cacheReferences(store, run: 3))
        // `<key>.work` (resumable state; a failed attempt leaves one) belongs to its key.
        let kept = entries.filter { keptRefs.contains($0.hasSuffix(".work") ? String($0.dropLast(5)) : $0) }
        // Run 3's failed ingest@add kept no resumable state, so it left no work folder behind.
        #expect(!entries.contains { $0.hasSuffix(".work") })
        let unused = entries.subtracting(kept)
        // Run 1's own outputs (its add chain on the first data) and nothing else.
        let run1Refs = try p.cacheReferences(store, run: 1)
        #expect(!unused.isEmpty && unused.isSubset(of: run1Refs))
        let trainAdd1 = try #require(try store.stages(run: 1).first { $0.stage == "train@add:lora" }?.cacheKey)
        #expect(unused.contains("train/\(trainAdd1)"))
        let unusedPaths = unused.map { "data/cache/\($0)" } + ["data/logs/1"]

        // --dry-run lists run 1, its unused outputs and logs, with the bytes they hold, and removes nothing.
        let dry = try p.command(["gc", "--keep", "1", "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = try #require(try decodeJSON(dry) as? [String: Any])
        let decisions = try #require(plan["decisions"] as? [[String: Any]])
        let removed = decisions.filter { $0["delete"] as? Bool == true }.compactMap { ($0["run"] as? [String: Any])?["id"] as? Int }
        #expect(removed == [1])
        let listed = Set((plan["folders"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String })
        #expect(listed == Set(unusedPaths))
        let freed = try freedBytes(p, ["checkpoints/tiny/1"] + unusedPaths)
        #expect(freed > 0 && plan["bytesFreed"] as? Int == Int(freed))
        #expect(try store.runs().count == 3)
        #expect(p.exists("checkpoints/tiny/1") && p.cacheEntries() == entries)

        // A scheduler holds the workspace: runs still go by the policy, data/cache is left alone.
        let holder = try WorkspaceLock(workspace: p.workspace, command: "sira-pipeline watch")
        let busy = try p.command(["gc", "--keep", "1"])
        #expect(busy.status == 0, "\(busy.stderr)")
        #expect(busy.stdout.contains("data/cache, data/logs and data/slurm left alone: workspace \(p.root.path) is in use"), "\(busy.stdout)")
        #expect(try store.runs().map(\.id) == [3, 2])
        #expect(!p.exists("checkpoints/tiny/1"))
        #expect(tableRow(busy.stdout, first: "2")?.contains("kept") == true, "\(busy.stdout)")
        #expect(p.cacheEntries() == entries && p.exists("data/logs/1"))
        holder.release()

        // Free again: exactly the outputs no remaining run used go, and run 1's logs.
        let collected = try p.command(["gc", "--keep", "1"])
        #expect(collected.status == 0, "\(collected.stderr)")
        #expect(p.cacheEntries() == kept)
        #expect(!p.exists("data/logs/1") && p.exists("data/logs/2") && p.exists("data/logs/3"))
        #expect(collected.stdout.contains("removed 0 runs and \(unusedPaths.count) unused folders"), "\(collected.stdout)")

        // --keep 0: run 3 goes, run 2 (the newest successful package) still stays; its packages
        // verify, and the pipeline's index now names them instead of run 3's.
        let none = try p.command(["gc", "--keep", "0"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(try store.runs().map(\.id) == [2])
        #expect(!p.exists("checkpoints/tiny/3") && !p.exists("data/logs/3"))
        let packages = try FileManager.default.contentsOfDirectory(atPath: p.root.appendingPathComponent("checkpoints/tiny/2").path)
            .filter { $0.hasSuffix(".sira") }.map { "checkpoints/tiny/2/\($0)" }
        #expect(packages.count == 3)
        for pkg in packages { #expect(try SiraPackage.verify(p.root.appendingPathComponent(pkg)).manifest.pipeline == "tiny") }
        #expect(try p.command(["verify"] + packages).status == 0)
        let index = try #require(try CheckpointIndex.latest(workspace: p.workspace, pipeline: "tiny"))
        #expect(index.run == 2 && Set(index.packages.map(\.file)) == Set(packages))
        #expect(try store.integrityCheck() == ["ok"])

        // What stayed is complete: run 2's data again is a rerun entirely from the cache.
        try p.writeAdd(offset: 100)
        #expect(try p.run().status == 0)
        let rerun = try #require(try store.runs().first)
        #expect(try store.stages(run: rerun.id).allSatisfy { $0.status == .cached })

        let usage = try p.command(["gc"])
        #expect(usage.status != 0 && usage.stderr.contains("give --keep N, --older-than D, or both"))
    }

    @Test func gcLeavesTheCacheAloneWhileARunIsLiveAndClearsLeftovers() throws {
        let p = try TinyPipeline.small()
        #expect(try p.run().status == 0)
        let store = try p.store()
        let entries = p.cacheEntries()
        // Leftovers of killed processes and of an interrupted gc; a stray file that is not ours to judge.
        for folder in ["data/cache/train/.0123abcd.tmp-99-7", "data/cache/base/.gc-feed-42", "data/cache/train/0123abcd.work", "data/logs/77"] {
            try p.tw.write("x", to: "\(folder)/f")
        }
        try p.tw.write("keep me", to: "data/cache/train/notes.txt")
        // A run recorded as running by a live process (this one): nothing in data/cache is planned.
        let live = try store.createRun(pipeline: "tiny", manifestHash: "x", trigger: "test", status: .running)
        let held = try p.command(["gc", "--keep", "0", "--json"])
        #expect(held.status == 0, "\(held.stderr)")
        let plan = try #require(try decodeJSON(held) as? [String: Any])
        #expect((plan["skipped"] as? String)?.contains("run \(live) is running") == true, "\(held.stdout)")
        #expect(Set((plan["folders"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }) == ["data/logs/77"])
        #expect(p.cacheEntries() == entries.union(["train/.0123abcd.tmp-99-7", "base/.gc-feed-42", "train/0123abcd.work", "train/notes.txt"]))

        #expect(try store.setRunStatus(live, .failed))
        let cleared = try p.command(["gc", "--keep", "0"])
        #expect(cleared.status == 0, "\(cleared.stderr)")
        #expect(try store.runs().map(\.id) == [1])
        #expect(p.cacheEntries() == entries.union(["train/notes.txt"]))
        #expect(!p.exists("data/logs/77") && p.exists("data/logs/1"))
        for line in ["data/cache/train/.0123abcd.tmp-99-7", "data/cache/base/.gc-feed-42", "data/cache/train/0123abcd.work"] {
            #expect(cleared.stdout.contains(line), "\(cleared.stdout)")
        }
    }
}
