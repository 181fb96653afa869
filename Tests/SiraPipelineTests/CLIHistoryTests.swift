import Foundation
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// `validate`, `runs`, `show`, `metrics` and `compare` as people run them: the built binary in a
/// child process on a tiny workspace, checked against what the database and the disk hold.
@Suite(.serialized) struct CLIHistoryTests {
    @Test func validateNamesFileLineAndKeyAndExitsNonZero() throws {
        let p = try TinyPipeline.small()
        try p.tw.write("""
        name: bad
        tasks:
          - {name: add, from: data/src/add.jsonl}
        adapters:
          lora: {r: 2, alpah: 16}
        train: {steps: 30}
        evaluate: {max_new_tokens: -1}

        """, to: "pipelines/bad.yaml")
        let bad = try p.command(["validate", "pipelines/bad.yaml"])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("pipelines/bad.yaml:5: adapters.lora.alpah: unknown key"), "\(bad.stderr)")
        #expect(bad.stderr.contains("pipelines/bad.yaml:7: evaluate.max_new_tokens: "), "\(bad.stderr)")
        #expect(!bad.stdout.contains("ok"))

        let good = try p.command(["validate", p.manifestPath])
        #expect(good.status == 0, "\(good.stderr)")
        // 3 ingest, tokenizer, 3 tokenize, base, 2 train, 4 evaluate, merge, 2 package + bundle.
        #expect(good.stdout.contains("\(p.manifestPath): ok: pipeline 'tiny', 3 task(s), 1 variant(s), 18 stages"), "\(good.stdout)")

        let missing = try p.command(["validate", "pipelines/none.yaml"])
        #expect(missing.status == 65)
        #expect(missing.stderr.contains("pipelines/none.yaml"))
        #expect(!p.exists("data/runs.sqlite")) // validating never runs anything
    }

    @Test func runsShowMetricsAndCompareAgreeWithTheDatabase() throws {
        let p = try TinyPipeline.small()
        #expect(try p.run().status == 0)
        #expect(try p.run().status == 0)   // everything cached
        try p.writeAdd(offset: 100)
        #expect(try p.run().status == 0)   // the add task's chain reruns
        let store = try p.store()
        let runs = try store.runs()
        #expect(runs.map(\.id) == [3, 2, 1] && runs.allSatisfy { $0.status == .succeeded })

        // runs --json: every run, newest first, with status and its stage counts.
        let listed = try #require(try decodeJSON(try p.command(["runs", "--json"])) as? [[String: Any]])
        #expect(listed.compactMap { ($0["run"] as? [String: Any])?["id"] as? Int } == [3, 2, 1])
        #expect(listed.compactMap { ($0["run"] as? [String: Any])?["status"] as? String } == ["succeeded", "succeeded", "succeeded"])
        let run2Counts = try #require((listed[1]["stages"] as? [String: Any])?["counts"] as? [String: Int])
        #expect(run2Counts == ["cached": try store.stages(run: 2).count])
        // Filters: by status, and a table that names every run.
        let failedOnly = try p.command(["runs", "--status", "failed", "--json"])
        let failedList = try decodeJSON(failedOnly) as? [Any]
        #expect(failedOnly.status == 0 && failedList?.isEmpty == true)
        let table = try p.command(["runs"])
        for id in 1 ... 3 { #expect(tableRow(table.stdout, first: "\(id)")?.contains("succeeded") == true) }
        let badStatus = try p.command(["runs", "--status", "finished"])
        #expect(badStatus.status != 0 && badStatus.stderr.contains("--status 'finished' is not one of"))

        // show: on the cached rerun every stage is a cache hit; on the first run none is.
        let stages2 = try store.stages(run: 2)
        #expect(stages2.count == 18 && stages2.allSatisfy { $0.status == .cached })
        let show2 = try p.command(["show", "2"])
        #expect(show2.status == 0, "\(show2.stderr)")
        for s in stages2 {
            let row = try #require(tableRow(show2.stdout, first: s.stage), "\(s.stage) missing from\n\(show2.stdout)")
            #expect(row[2] == "cached" && row[4] == "hit", "\(row)")
        }
        #expect(show2.stdout.contains("18 stages, 18 from cache, 0 failed, 18 attempts"))
        // The summary leaves the per-key metric tables to --all, and says what --all adds.
        #expect(!show2.stdout.contains("metrics (final values") && show2.stdout.contains("(--all adds "), "\(show2.stdout)")
        let full = try p.command(["show", "1", "--all"])
        #expect(full.status == 0 && full.stdout.contains("metrics (final values") && full.stdout.contains("train.loss"))
        let show1 = try p.command(["show", "#1"])
        for s in try store.stages(run: 1) {
            let row = try #require(tableRow(show1.stdout, first: s.stage))
            #expect(row[2] == "succeeded" && row[4] == "miss", "\(row)")
        }
        let detail = try #require(try decodeJSON(try p.command(["show", "3", "--json"])) as? [String: Any])
        let shownKeys = (detail["stages"] as? [[String: Any]] ?? []).compactMap { $0["cacheKey"] as? String }
        #expect(shownKeys == (try store.stages(run: 3)).compactMap(\.cacheKey))

        // metrics: the series as recorded, per step, in the table and in JSON.
        let series = try store.metricSeries(run: 1, key: "train.loss", task: "add", variant: "lora")
        #expect(series.compactMap(\.step) == [1, 2, 3, 4])
        let m = try p.command(["metrics", "1", "train.loss", "--task", "add", "--variant", "lora"])
        #expect(m.status == 0, "\(m.stderr)")
        let printed = m.stdout.split(separator: "\n").filter { $0.hasPrefix("add ") }.map { $0.split(separator: " ").map(String.init) }
        #expect(printed.map { Int($0[2]) } == series.map(\.step))
        for (cells, point) in zip(printed, series) {
            #expect(abs(try #require(Double(cells[3])) - point.value) <= 5e-5 * max(1, abs(point.value)), "\(cells) vs \(point.value)")
        }
        // JSONDecoder, not JSONSerialization: the latter does not round-trip every double on Linux.
        struct Point: Decodable { var step: Int?; var value: Double; var task: String?; var runID: Int64 }
        let mj = try JSONDecoder().decode([Point].self, from: Data(try p.command(["metrics", "1", "train.loss", "--task", "add", "--json"]).stdout.utf8))
        #expect(mj.map(\.value) == series.map(\.value) && mj.map(\.step) == series.map(\.step) && mj.allSatisfy { $0.task == "add" })
        // Run 2 took everything from the cache: its series are run 1's, marked as such.
        let reused = try JSONDecoder().decode([Point].self, from: Data(try p.command(["metrics", "2", "train.loss", "--task", "add", "--json"]).stdout.utf8))
        #expect(reused.map(\.value) == series.map(\.value) && reused.map(\.step) == series.map(\.step) && reused.allSatisfy { $0.runID == 1 })
        #expect(try p.command(["metrics", "2", "train.loss"]).stdout.contains("run 2 reused its output from the cache"))
        let noKey = try p.command(["metrics", "1", "no.such.metric"])
        #expect(noKey.status == 1 && noKey.stderr.contains("run 1 has no metric 'no.such.metric'") && noKey.stderr.contains("train.loss"))
        // A misspelt key gets the nearest recorded key as the suggestion.
        let typo = try p.command(["metrics", "1", "trian.loss"])
        #expect(typo.status == 1 && typo.stderr.contains("did you mean train.loss"), "\(typo.stderr)")

        // compare --only-changed: a cache-key row exactly for the stages whose keys differ.
        let (s1, s3) = (try store.stages(run: 1), try store.stages(run: 3))
        let key1 = Dictionary(uniqueKeysWithValues: s1.map { ($0.stage, $0.cacheKey) })
        let changedKeys = Set(s3.filter { key1[$0.stage] != $0.cacheKey }.map(\.stage))
        #expect(changedKeys.contains("ingest@add") && changedKeys.contains("train@add:lora") && !changedKeys.contains("train@rev:lora"))
        let rows = try #require(try decodeJSON(try p.command(["compare", "1", "3", "--only-changed", "--json"])) as? [[String: Any]])
        #expect(rows.allSatisfy { $0["changed"] as? Bool == true && $0["isDuration"] as? Bool == false })
        let keyRows = Set(rows.compactMap { r -> String? in
            guard r["section"] as? String == "stage", let item = r["item"] as? String, item.hasSuffix(" cache key") else { return nil }
            return String(item.dropLast(" cache key".count))
        })
        #expect(keyRows == changedKeys)
        // Stage status rows: every stage whose status differs (run 3 reused rev's outputs from run 1).
        let status1 = Dictionary(uniqueKeysWithValues: s1.map { ($0.stage, $0.status) })
        let statusChanged = Set(s3.filter { status1[$0.stage] != $0.status }.map(\.stage))
        let statusRows = Set(rows.compactMap { r -> String? in
            guard r["section"] as? String == "stage", let item = r["item"] as? String, !item.hasSuffix(" cache key") else { return nil }
            return item
        })
        #expect(statusRows == statusChanged)
        let text = try p.command(["compare", "1", "3", "--only-changed"])
        #expect(text.status == 0)
        #expect(!text.stdout.contains("duration"))
        #expect(text.stdout.contains("ingest@add cache key"))
        let same = try p.command(["compare", "2", "2", "--only-changed"])
        #expect(same.stdout.contains("runs 2 and 2 do not differ"))
    }

    @Test func unknownRunIDsAreClearErrors() throws {
        let p = try TinyPipeline.small()
        let before = try p.command(["show", "1"])
        #expect(before.status == 1 && before.stderr.contains("no run database at "), "\(before.stderr)")
        #expect(try p.run().status == 0)
        let db = p.workspace.databaseURL.path
        for args in [["show", "7"], ["metrics", "7", "train.loss"], ["compare", "1", "7"], ["report", "7"]] {
            let r = try p.command(args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.contains("no run 7"), "\(args): \(r.stderr)")
        }
        #expect(try p.command(["show", "7"]).stderr == "error: no run 7 in \(db)\n")
        for bad in ["abc", "0", "-3"] {
            let r = try p.command(["show", "--", bad])
            #expect(r.status != 0)
            #expect(r.stderr.contains("'\(bad)' is not a run id"), "\(bad): \(r.stderr)")
        }
        // `latest` names the newest run wherever a run is named.
        let one = try p.command(["show", "1"]), latest = try p.command(["show", "latest"])
        #expect(latest.status == 0 && latest.stdout == one.stdout, "\(latest.stderr)")
        #expect(try p.command(["metrics", "latest", "train.loss"]).stdout == p.command(["metrics", "1", "train.loss"]).stdout)
        let same = try p.command(["compare", "1", "latest", "--only-changed"])
        #expect(same.status == 0 && same.stdout.contains("runs 1 and 1 do not differ"), "\(same.stdout)\(same.stderr)")
    }
}
