import Foundation
import SiraIO
import Testing
@testable import SiraStore

/// A workspace with runs of two pipelines and their checkpoint folders.
private struct Workspace {
    let root: URL
    let store: RunStore

    init() throws {
        root = try scratchFolder("retention")
        store = try RunStore(workspace: root)
    }

    /// A finished run created `hoursAgo` before t0, with a folder holding `files`.
    @discardableResult
    func run(_ pipeline: String, hoursAgo: Double, _ status: RunStatus, files: [String] = ["adapter.safetensors"],
             packageArtifact: Bool = false) throws -> RunID {
        let created = t0 - hoursAgo * 3600
        let id = try store.createRun(pipeline: pipeline, manifestHash: "h", trigger: "manual", status: .running, now: created)
        if status != .running { try store.setRunStatus(id, status, now: created + 60) }
        let folder = try #require(RunStore.checkpointFolder(workspace: root, pipeline: pipeline, run: id))
        for name in files { try AtomicFile.write(Array(repeating: 7, count: 1000), to: folder.appendingPathComponent(name)) }
        if packageArtifact {
            try store.recordArtifacts([ArtifactRecord(runID: id, path: "checkpoints/\(pipeline)/\(id)/\(files[0])",
                                                      sha256: "x", bytes: 1000, kind: "package")])
        }
        return id
    }

    func folderExists(_ pipeline: String, _ id: RunID) -> Bool {
        FileManager.default.fileExists(atPath: RunStore.checkpointFolder(workspace: root, pipeline: pipeline, run: id)!.path)
    }
}

@Test func keepNRemovesOlderRunsButNeverTheNewestSuccessfulPackage() throws {
    let ws = try Workspace()
    defer { try? FileManager.default.removeItem(at: ws.root) }
    // demo, oldest first: a packaged success, a success without package, then four failures.
    let packaged = try ws.run("demo", hoursAgo: 70, .succeeded, files: ["dates.sira"])
    let plainSuccess = try ws.run("demo", hoursAgo: 60, .succeeded, files: ["eval.json"])
    let oldFail = try ws.run("demo", hoursAgo: 50, .failed)
    let f2 = try ws.run("demo", hoursAgo: 3, .failed)
    let f3 = try ws.run("demo", hoursAgo: 2, .crashed)
    let live = try ws.run("demo", hoursAgo: 40, .running)
    let newest = try ws.run("demo", hoursAgo: 1, .failed)
    // other: only the newest two stay.
    let o1 = try ws.run("other", hoursAgo: 30, .succeeded, files: ["a.sira"], packageArtifact: true)
    let o2 = try ws.run("other", hoursAgo: 20, .succeeded, files: ["b.sira"], packageArtifact: true)
    let o3 = try ws.run("other", hoursAgo: 10, .succeeded, files: ["c.sira"], packageArtifact: true)

    let plan = try ws.store.planRetention(RetentionPolicy(keep: 2), workspace: ws.root, now: t0)
    let byRun = Dictionary(uniqueKeysWithValues: plan.decisions.map { ($0.run.id, $0) })
    #expect(Set(plan.deletions.map(\.run.id)) == [oldFail, f2, o1])
    #expect(byRun[packaged]?.delete == false && byRun[packaged]?.reason == "newest successful package of demo")
    #expect(byRun[plainSuccess]?.delete == false && byRun[plainSuccess]?.reason == "newest successful run of demo")
    #expect(byRun[live]?.reason == "still running")
    #expect(byRun[newest] == nil && byRun[f3] == nil && byRun[o2] == nil && byRun[o3] == nil) // within the newest 2
    #expect(byRun[oldFail]?.folder == "checkpoints/demo/\(oldFail)" && byRun[oldFail]?.folderBytes == 1000)
    #expect(plan.bytesToFree == 3000)

    #expect(try ws.store.applyRetention(plan, workspace: ws.root) == 3)
    for id in [oldFail, f2] { #expect(try !ws.folderExists("demo", id) && ws.store.run(id) == nil) }
    #expect(!ws.folderExists("other", o1))
    for id in [packaged, plainSuccess, live, f3, newest] { #expect(try ws.folderExists("demo", id) && ws.store.run(id) != nil) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: ws.root.appendingPathComponent("checkpoints/demo").path)
            .allSatisfy { !$0.hasPrefix(".") })
    // A second pass with the same policy finds nothing more to remove.
    #expect(try ws.store.planRetention(RetentionPolicy(keep: 2), workspace: ws.root, now: t0).deletions.isEmpty)
}

@Test func olderThanAndKeepCombineAndPipelineNarrows() throws {
    let ws = try Workspace()
    defer { try? FileManager.default.removeItem(at: ws.root) }
    let a = try ws.run("p", hoursAgo: 100, .failed)
    let b = try ws.run("p", hoursAgo: 50, .failed)
    let c = try ws.run("p", hoursAgo: 5, .failed)
    let q = try ws.run("q", hoursAgo: 100, .failed)
    // Older than 2 days: a and b in p, q in q.
    let old = try ws.store.planRetention(RetentionPolicy(olderThan: 48 * 3600), workspace: ws.root, now: t0)
    #expect(Set(old.deletions.map(\.run.id)) == [a, b, q])
    // ... but keeping the newest 2 of each pipeline saves b and q.
    let both = try ws.store.planRetention(RetentionPolicy(keep: 2, olderThan: 48 * 3600), workspace: ws.root, now: t0)
    #expect(both.deletions.map(\.run.id) == [a])
    let onlyQ = try ws.store.planRetention(RetentionPolicy(olderThan: 48 * 3600, pipeline: "q"), workspace: ws.root, now: t0)
    #expect(onlyQ.deletions.map(\.run.id) == [q])
    _ = c
}

@Test func aFolderAKeptRunUsesIsKept() throws {
    let ws = try Workspace()
    defer { try? FileManager.default.removeItem(at: ws.root) }
    let producer = try ws.run("p", hoursAgo: 10, .failed, files: ["tokenizer.json"])
    let user = try ws.run("p", hoursAgo: 1, .succeeded)
    // The newer run's cached stage recorded the older run's output as its artifact.
    try ws.store.recordArtifacts([ArtifactRecord(runID: user, path: "checkpoints/p/\(producer)/tokenizer.json", sha256: "t",
                                                 bytes: 1000, kind: "tokenizer")])
    let plan = try ws.store.planRetention(RetentionPolicy(keep: 1), workspace: ws.root, now: t0)
    #expect(plan.deletions.isEmpty)
    #expect(plan.decisions.map(\.reason) == ["run \(user) uses files in its folder"])
}

@Test func unsafePipelineNamesNeverReachTheFileSystem() throws {
    #expect(RunStore.checkpointFolder(workspace: URL(fileURLWithPath: "/w"), pipeline: "../etc", run: 1) == nil)
    #expect(RunStore.checkpointFolder(workspace: URL(fileURLWithPath: "/w"), pipeline: "..", run: 1) == nil)
    #expect(RunStore.checkpointFolder(workspace: URL(fileURLWithPath: "/w"), pipeline: "", run: 1) == nil)
    #expect(RunStore.checkpointFolder(workspace: URL(fileURLWithPath: "/w"), pipeline: "demo", run: 12)?.path == "/w/checkpoints/demo/12")
    let ws = try Workspace()
    defer { try? FileManager.default.removeItem(at: ws.root) }
    let id = try ws.store.createRun(pipeline: "..", manifestHash: "h", trigger: "manual", status: .failed, now: t0 - 7200)
    // Where checkpoints/../<id> would point.
    let victim = ws.root.appendingPathComponent("\(id)")
    try AtomicFile.write("keep me", to: victim.appendingPathComponent("precious"))
    let plan = try ws.store.planRetention(RetentionPolicy(keep: 0), workspace: ws.root, now: t0)
    #expect(plan.deletions.map(\.run.id) == [id] && plan.deletions[0].folder == nil)
    try ws.store.applyRetention(plan, workspace: ws.root)
    #expect(FileManager.default.fileExists(atPath: victim.appendingPathComponent("precious").path))
}

@Test func timeSpecsParseAndFormat() throws {
    #expect(try TimeSpec.duration("90s") == 90)
    #expect(try TimeSpec.duration("30m") == 1800)
    #expect(try TimeSpec.duration("12h") == 43200)
    #expect(try TimeSpec.duration("7d") == 604_800)
    #expect(try TimeSpec.duration("2w") == 1_209_600)
    #expect(try TimeSpec.duration("1.5h") == 5400)
    #expect(try TimeSpec.duration("33") == 33)
    #expect(throws: TimeSpec.ParseError.self) { try TimeSpec.duration("soon") }
    #expect(throws: TimeSpec.ParseError.self) { try TimeSpec.duration("-3d") }
    let utc = TimeZone(identifier: "UTC")!
    #expect(try TimeSpec.instant("2023-11-14T22:13:20Z") == t0)
    #expect(try TimeSpec.instant("2023-11-14 22:13:20", timeZone: utc) == t0)
    #expect(try TimeSpec.instant("2023-11-14T22:13", timeZone: utc) == t0 - 20)
    #expect(try TimeSpec.instant("2023-11-14", timeZone: utc) == t0 - (22 * 3600 + 13 * 60 + 20))
    #expect(try TimeSpec.instant("7d", now: t0) == t0 - 604_800)
    #expect(throws: TimeSpec.ParseError.self) { try TimeSpec.instant("yesterday") }
    #expect(TimeSpec.format(duration: 0.035) == "35ms")
    #expect(TimeSpec.format(duration: 4.24) == "4.2s")
    #expect(TimeSpec.format(duration: 185) == "3m 05s")
    #expect(TimeSpec.format(duration: 3720) == "1h 02m")
    #expect(TimeSpec.format(t0, timeZone: utc) == "2023-11-14 22:13:20")
}

/// `removeRuns` takes out exactly the runs named — even the newest successful package, which a
/// policy would keep — with their folders, and nothing else.
@Test func removeRunsRemovesExactlyTheNamedRunsAndTheirFolders() throws {
    let ws = try Workspace()
    defer { try? FileManager.default.removeItem(at: ws.root) }
    let kept = try ws.run("demo", hoursAgo: 3, .succeeded, files: ["dates.sira"], packageArtifact: true)
    let a = try ws.run("demo", hoursAgo: 2, .succeeded, files: ["dates.sira"], packageArtifact: true)
    let b = try ws.run("demo", hoursAgo: 1, .succeeded, files: ["dates.sira"], packageArtifact: true)
    let other = try ws.run("other", hoursAgo: 1, .succeeded)
    #expect(try ws.store.removeRuns([a, b, 999], workspace: ws.root) == 2)
    #expect(try ws.store.runs().map(\.id).sorted() == [kept, other].sorted())
    #expect(!ws.folderExists("demo", a) && !ws.folderExists("demo", b))
    #expect(ws.folderExists("demo", kept) && ws.folderExists("other", other))
    #expect(try ws.store.artifacts(run: kept).count == 1)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: ws.root.appendingPathComponent("checkpoints/demo").path)
    #expect(leftovers.allSatisfy { !$0.hasPrefix(".gc-") }, "\(leftovers)")
}
