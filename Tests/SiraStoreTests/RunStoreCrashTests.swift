#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GRDB
import Testing
@testable import SiraStore

/// The pid of a process that has exited and been reaped.
private func deadPid() throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run()
    p.waitUntilExit()
    return p.processIdentifier
}

@Test func staleHeartbeatAndDeadPidAreMarkedCrashed() throws {
    let (store, dir) = try scratchStore()
    defer { try? FileManager.default.removeItem(at: dir) }
    let dead = try deadPid()
    #expect(RunStore.processIsAlive(dead) == false)
    #expect(RunStore.processIsAlive(getpid()))

    // Ours, alive and fresh: kept.
    let alive = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running, now: t0)
    // Same host, pid gone, heartbeat fresh: crashed.
    let gone = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running,
                                   pid: dead, now: t0)
    let goneStage = try store.startStage(run: gone, StageSpec(stage: "train@x/lora", kind: "train"), now: t0 + 1)
    // Another host (pid cannot be checked), heartbeat 10 minutes old: crashed.
    let remote = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "schedule", status: .running,
                                     host: "elsewhere", pid: 1, now: t0 - 600)
    // Another host, heartbeat refreshed 30 s ago: kept.
    let remoteFresh = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "schedule", status: .running,
                                          host: "elsewhere", pid: 1, now: t0 - 600)
    #expect(try store.heartbeat(remoteFresh, now: t0 - 30))
    // Already final: untouched.
    let done = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running,
                                   pid: dead, now: t0 - 900)
    try store.setRunStatus(done, .succeeded, now: t0 - 800)

    let crashed = try store.markCrashedRuns(staleAfter: 120, now: t0)
    #expect(crashed.map(\.id) == [gone, remote])
    #expect(crashed.allSatisfy { $0.status == .crashed && $0.finishedAt == t0 })
    #expect(crashed[0].error == "process \(dead) on \(RunStore.currentHost) is gone")
    #expect(crashed[1].error == "no heartbeat for 600 s (limit 120 s) from process 1 on elsewhere")
    #expect(try store.run(alive)?.status == .running)
    #expect(try store.run(remoteFresh)?.status == .running)
    #expect(try store.run(done)?.status == .succeeded)
    #expect(try store.stageRun(goneStage)?.status == .crashed)
    #expect(try store.events(run: gone).map(\.level) == [.error])
    // A crashed run's own process, if it comes back, learns it must stop.
    #expect(try store.heartbeat(gone, now: t0 + 1) == false)
    // Running the detector again finds nothing new.
    #expect(try store.markCrashedRuns(staleAfter: 120, now: t0 + 1).isEmpty)
}

/// The exit-test child: opens the store, commits `committed` complete batches of 129 metric rows,
/// then SIGKILLs itself in the middle of the next write transaction (rows inserted, not committed).
private func writeThenDieMidTransaction(_ path: String, committed: Int) throws -> Never {
    let store = try RunStore(path: path)
    let run = try store.createRun(pipeline: "victim", manifestHash: "h", trigger: "manual", status: .running)
    _ = try store.startStage(run: run, StageSpec(stage: "train@t/sira", kind: "train"))
    func batch(_ b: Int) -> [MetricPoint] {
        (0 ..< 129).map { MetricPoint(runID: run, key: "loss", value: Double(b), step: b * 129 + $0) }
    }
    for b in 0 ..< committed { try store.recordMetrics(batch(b)) }
    try store.pool.write { db in
        for p in batch(committed) {
            try db.execute(sql: "INSERT INTO metrics (run_id, key, value, step, time) VALUES (?, ?, ?, ?, 0)",
                           arguments: [p.runID, p.key, p.value, p.step])
        }
        kill(getpid(), SIGKILL)
    }
    fatalError("unreachable: SIGKILL did not stop the process")
}

@Test func writerKilledMidTransactionLeavesASoundDatabase() async throws {
    let dir = try scratchFolder("runstore-kill")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("runs.sqlite").path
    await #expect(processExitsWith: .signal(SIGKILL)) { [path = path as String] in
        try writeThenDieMidTransaction(path, committed: 7)
    }
    let store = try RunStore(path: path)
    #expect(try store.integrityCheck() == ["ok"])
    let run = try #require(try store.runs().first)
    #expect(run.status == .running)
    // Exactly the 7 committed batches survive; the killed transaction left nothing behind.
    let values = try store.metricSeries(run: run.id, key: "loss").map(\.value)
    #expect(values.count == 7 * 129)
    #expect(Set(values) == Set((0 ..< 7).map(Double.init)))
    // The dead writer's run is found and marked crashed, with its live stage.
    let crashed = try store.markCrashedRuns(staleAfter: 3600)
    #expect(crashed.map(\.id) == [run.id])
    #expect(try store.stages(run: run.id).map(\.status) == [.crashed])
    #expect(try store.integrityCheck() == ["ok"])
}

/// The exit-test child: writes transactions of 33 rows in a loop until a timer thread SIGKILLs the
/// process at an arbitrary instant.
private func writeUntilKilled(_ path: String, afterMilliseconds ms: Int) throws -> Never {
    let store = try RunStore(path: path)
    let run = try store.createRun(pipeline: "victim", manifestHash: "h", trigger: "manual", status: .running)
    Thread.detachNewThread {
        usleep(UInt32(ms * 1000))
        kill(getpid(), SIGKILL)
    }
    var b = 0
    while true {
        try store.recordMetrics((0 ..< 33).map { MetricPoint(runID: run, key: "x", value: Double(b), step: $0) })
        try store.heartbeat(run)
        b += 1
    }
}

@Test(arguments: [40, 150])
func writerKilledAtAnArbitraryInstantLeavesWholeTransactions(ms: Int) async throws {
    let dir = try scratchFolder("runstore-kill2")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("runs.sqlite").path
    await #expect(processExitsWith: .signal(SIGKILL)) { [path = path as String, ms = ms as Int] in
        try writeUntilKilled(path, afterMilliseconds: ms)
    }
    let store = try RunStore(path: path)
    #expect(try store.integrityCheck() == ["ok"])
    let run = try #require(try store.runs().first)
    let values = try store.metricSeries(run: run.id, key: "x").map(\.value)
    #expect(values.count % 33 == 0)
    let batches = values.count / 33
    #expect(batches >= 1)
    var perBatch: [Double: Int] = [:]
    for v in values { perBatch[v, default: 0] += 1 }
    #expect(perBatch.count == batches && perBatch.values.allSatisfy { $0 == 33 })
    #expect(Set(perBatch.keys) == Set((0 ..< batches).map(Double.init)))
}
