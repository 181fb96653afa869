import Foundation
import Testing
@testable import SiraStore

@Test func runAndStageLifecycleStampsTimesAndDurations() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = try store.createRun(pipeline: "demo", manifestHash: "abc", trigger: "manual", host: "h1", pid: 4242, now: t0)
    var r = try #require(try store.run(run))
    #expect(r.status == .queued && r.startedAt == nil && r.heartbeat == t0 && r.host == "h1" && r.pid == 4242)

    #expect(try store.setRunStatus(run, .running, now: t0 + 2))
    let ingest = try store.startStage(run: run, StageSpec(stage: "ingest@dates", kind: "ingest", task: "dates",
                                                          cacheKey: "k-ingest", logPath: "logs/1.log"), now: t0 + 3)
    #expect(try store.finishStage(ingest, status: .succeeded, now: t0 + 10.5))
    let train = try store.startStage(run: run, StageSpec(stage: "train@dates/sira", kind: "train", task: "dates",
                                                         variant: "sira", attempt: 1), now: t0 + 11)
    #expect(try store.finishStage(train, status: .failed, error: "out of memory", now: t0 + 12))
    let retry = try store.startStage(run: run, StageSpec(stage: "train@dates/sira", kind: "train", task: "dates",
                                                         variant: "sira", attempt: 2), now: t0 + 14)
    // A final attempt is never rewritten.
    #expect(try store.finishStage(train, status: .succeeded, now: t0 + 15) == false)
    #expect(try store.updateStage(retry, status: .succeeded, cacheKey: "k-train", now: t0 + 20))
    let cached = try store.recordStage(run: run, StageSpec(stage: "package", kind: "package", cacheKey: "k-pkg"),
                                       status: .cached, now: t0 + 21)
    #expect(try store.setRunStatus(run, .succeeded, now: t0 + 22))

    r = try #require(try store.run(run))
    #expect(r.status == .succeeded && r.startedAt == t0 + 2 && r.finishedAt == t0 + 22)
    #expect(r.duration() == 20)
    let stages = try store.stages(run: run)
    #expect(stages.map(\.id) == [ingest, train, retry, cached])
    #expect(stages.map(\.status) == [.succeeded, .failed, .succeeded, .cached])
    #expect(stages.map(\.duration) == [7.5, 1, 6, 0])
    #expect(stages[0].logPath == "logs/1.log" && stages[0].cacheKey == "k-ingest")
    #expect(stages[1].error == "out of memory" && stages[2].attempt == 2 && stages[2].cacheKey == "k-train")
    // The run is final: it cannot be moved again.
    #expect(try store.setRunStatus(run, .failed, error: "late", now: t0 + 30) == false)
    #expect(try store.run(run)?.status == .succeeded)
    #expect(throws: RunStoreError.noSuchRun(999)) { try store.setRunStatus(999, .running) }
}

@Test func endingARunEndsItsLiveStages() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running, now: t0)
    let a = try store.startStage(run: run, StageSpec(stage: "a", kind: "train"), now: t0 + 1)
    let b = try store.startStage(run: run, StageSpec(stage: "b", kind: "train", executor: "slurm", externalID: "77"),
                                 status: .queued, now: t0 + 1)
    let c = try store.startStage(run: run, StageSpec(stage: "c", kind: "ingest"), now: t0 + 1)
    try store.finishStage(c, status: .succeeded, now: t0 + 2)
    try store.setRunStatus(run, .cancelled, error: "SIGINT", now: t0 + 5)
    let byID = Dictionary(uniqueKeysWithValues: try store.stages(run: run).map { ($0.id, $0) })
    #expect(byID[a]?.status == .cancelled && byID[a]?.duration == 4 && byID[a]?.error == "run ended as cancelled")
    #expect(byID[b]?.status == .cancelled && byID[b]?.externalID == "77" && byID[b]?.startedAt == nil)
    #expect(byID[c]?.status == .succeeded && byID[c]?.error == nil)
    #expect(try store.run(run)?.error == "SIGINT")
}

@Test func cacheLookupReturnsTheLatestProducer() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let spec = StageSpec(stage: "tokenize", kind: "tokenize", cacheKey: "K")
    let r1 = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running, now: t0)
    let s1 = try store.startStage(run: r1, spec, now: t0)
    try store.finishStage(s1, status: .succeeded, now: t0 + 1)
    try store.recordArtifacts([ArtifactRecord(runID: r1, stageRunID: s1, path: "data/x.bin", sha256: "aa", bytes: 33,
                                              kind: "shards", createdAt: t0 + 1)])
    #expect(try store.lastSuccessfulStage(cacheKey: "K")?.id == s1)
    let r2 = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running, now: t0 + 5)
    let s2 = try store.startStage(run: r2, spec, now: t0 + 5)
    try store.finishStage(s2, status: .succeeded, now: t0 + 6)
    let r3 = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running, now: t0 + 7)
    try store.recordStage(run: r3, spec, status: .cached, now: t0 + 8)
    let s4 = try store.startStage(run: r3, spec, now: t0 + 9)
    try store.finishStage(s4, status: .failed, now: t0 + 10)
    #expect(try store.lastSuccessfulStage(cacheKey: "K")?.id == s2)
    #expect(try store.lastSuccessfulStage(cacheKey: "other") == nil)
    #expect(try store.artifacts(stageRun: s1).map(\.path) == ["data/x.bin"])
    #expect(try store.artifacts(stageRun: s2).isEmpty)
}

@Test func paramsMetricsArtifactsEventsAndDetail() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running, now: t0)
    let stage = try store.startStage(run: run, StageSpec(stage: "train@a/sira", kind: "train", task: "a", variant: "sira"),
                                     now: t0)
    try store.recordParams(run: run, ["seed": "0", "lr": "3e-4"])
    try store.recordParams(run: run, stageRun: stage, ["r": "4", "lr": "1e-3"])
    try store.recordParams(run: run, ["lr": "5e-4"]) // replaces within run scope only
    let params = try store.params(run: run)
    #expect(params.map { "\($0.stageRunID == nil ? "run" : "stage").\($0.key)=\($0.value)" }
            == ["run.lr=5e-4", "run.seed=0", "stage.lr=1e-3", "stage.r=4"])

    // 33 steps of a loss, out of order, plus a NaN, an infinity and a stepless final value.
    var points: [MetricPoint] = []
    for step in (0 ..< 33).reversed() {
        points.append(MetricPoint(runID: run, stageRunID: stage, task: "a", variant: "sira", key: "loss",
                                  value: 1.0 / Double(step + 1), step: step, time: t0 + Double(100 - step)))
    }
    points.append(MetricPoint(runID: run, stageRunID: stage, task: "a", variant: "sira", key: "grad_norm",
                              value: .nan, step: 5, time: t0))
    points.append(MetricPoint(runID: run, stageRunID: stage, task: "a", variant: "sira", key: "grad_norm",
                              value: .infinity, step: 6, time: t0))
    points.append(MetricPoint(runID: run, task: "a", variant: "sira", key: "exact_match", value: 0.25, time: t0 + 200))
    points.append(MetricPoint(runID: run, task: "a", variant: "lora", key: "exact_match", value: 0.125, time: t0 + 200))
    try store.recordMetrics(points)

    let loss = try store.metricSeries(run: run, key: "loss", task: "a", variant: "sira")
    #expect(loss.map(\.step) == (0 ..< 33).map { Optional($0) })
    #expect(loss.map(\.value) == (0 ..< 33).map { 1.0 / Double($0 + 1) })
    let grad = try store.metricSeries(run: run, key: "grad_norm")
    #expect(grad.count == 2 && grad[0].value.isNaN && grad[1].value == .infinity)
    #expect(try store.metricSeries(run: run, key: "exact_match", variant: "lora").map(\.value) == [0.125])

    try store.recordArtifacts([ArtifactRecord(runID: run, stageRunID: stage, path: "checkpoints/p/1/a.sira",
                                              sha256: "ff", bytes: 129, kind: "package", createdAt: t0)])
    try store.recordEvent(run: run, level: .warning, "retrying train@a/sira", now: t0 + 1)
    try store.recordEvent(run: nil, level: .info, "watcher started", now: t0)

    let detail = try #require(try store.detail(run))
    #expect(detail.stages.map(\.id) == [stage])
    #expect(detail.params.count == 4)
    #expect(detail.artifacts.map(\.bytes) == [129])
    #expect(detail.events.map(\.message) == ["retrying train@a/sira"])
    #expect(try store.events(run: nil).map(\.level) == [.info])
    // Final values: the highest step of loss (step 32), the latest grad_norm, the stepless scores.
    let finals = detail.finalMetrics.map { "\($0.variant ?? "-")/\($0.key)=\($0.value)" }
    #expect(finals == ["lora/exact_match=0.125", "sira/exact_match=0.25", "sira/grad_norm=inf",
                       "sira/loss=\(1.0 / 33.0)"])
    #expect(try store.detail(12345) == nil)
}

@Test func datasetsAreKnownByContent() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(try store.recordDataset(DatasetRecord(task: "dates", sha256: "s1", path: "data/datasets/dates/s1",
                                                  records: 7, createdAt: t0)))
    #expect(try store.recordDataset(DatasetRecord(task: "dates", sha256: "s1", path: "elsewhere", records: 1,
                                                  createdAt: t0 + 1)) == false)
    #expect(try store.recordDataset(DatasetRecord(task: "dates", sha256: "s2", path: "data/datasets/dates/s2",
                                                  records: 129, createdAt: t0 + 2)))
    #expect(try store.dataset(task: "dates", sha256: "s1")?.path == "data/datasets/dates/s1")
    #expect(try store.datasets(task: "dates").map(\.records) == [129, 7])
    #expect(try store.datasets(task: "nope").isEmpty)
}

@Test func listingFiltersByPipelineStatusAndTime() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    var ids: [RunID] = []
    for i in 0 ..< 7 {
        let id = try store.createRun(pipeline: i % 2 == 0 ? "even" : "odd", manifestHash: "h\(i)", trigger: "manual",
                                     status: .running, now: t0 + Double(i) * 3600)
        try store.setRunStatus(id, i % 3 == 0 ? .failed : .succeeded, now: t0 + Double(i) * 3600 + 60)
        ids.append(id)
    }
    #expect(try store.runs().map(\.id) == ids.reversed())
    #expect(try store.runs(RunFilter(pipeline: "even")).map(\.id) == [ids[6], ids[4], ids[2], ids[0]])
    #expect(try store.runs(RunFilter(status: .failed)).map(\.id) == [ids[6], ids[3], ids[0]])
    #expect(try store.runs(RunFilter(pipeline: "odd", status: .succeeded, since: t0 + 3600)).map(\.id) == [ids[5], ids[1]])
    #expect(try store.runs(RunFilter(since: t0 + 5 * 3600)).map(\.id) == [ids[6], ids[5]])
    #expect(try store.runs(RunFilter(limit: 1)).map(\.id) == [ids[6]])
    #expect(try store.pipelines() == ["even", "odd"])
}
