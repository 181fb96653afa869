import Foundation
import GRDB
import Testing
@testable import SiraStore

/// Collects results from concurrent threads.
private final class Collector<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
}

@Test func twoPoolsWriteConcurrentlyThroughTheBusyTimeout() throws {
    let dir = try scratchFolder("runstore-concurrent")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("runs.sqlite").path
    // Two independent connections pools on one file, as two processes would have.
    let stores = [try RunStore(path: path, busyTimeout: 20), try RunStore(path: path, busyTimeout: 20)]
    let runs = try stores.map { try $0.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running) }
    let errors = Collector<String>()
    let writersPerStore = 3, transactions = 33, rowsPerTransaction = 7
    DispatchQueue.concurrentPerform(iterations: stores.count * writersPerStore) { w in
        let store = stores[w % stores.count]
        let run = runs[w % stores.count]
        do {
            for t in 0 ..< transactions {
                try store.recordMetrics((0 ..< rowsPerTransaction).map {
                    MetricPoint(runID: run, key: "w\(w)", value: Double(t), step: t * rowsPerTransaction + $0)
                })
                try store.heartbeat(run)
                // A reader on the other pool while writes go on (WAL: never blocked).
                _ = try stores[(w + 1) % stores.count].runs()
            }
        } catch {
            errors.append("\(error)")
        }
    }
    #expect(errors.all.isEmpty)
    for w in 0 ..< stores.count * writersPerStore {
        let series = try stores[0].metricSeries(run: runs[w % stores.count], key: "w\(w)")
        #expect(series.count == transactions * rowsPerTransaction)
        #expect(series.map(\.step) == (0 ..< transactions * rowsPerTransaction).map { Optional($0) })
    }
    #expect(try stores[1].integrityCheck() == ["ok"])
}

@Test func aWriterWithoutBusyTimeoutFailsWhileAnotherHoldsTheLock() throws {
    // The control for the test above: the busy timeout is what makes the second writer wait.
    let dir = try scratchFolder("runstore-busy")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("runs.sqlite").path
    let holder = try RunStore(path: path)
    let impatient = try RunStore(path: path, busyTimeout: 0)
    let patient = try RunStore(path: path, busyTimeout: 20)
    let release = DispatchSemaphore(value: 0), locked = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        try? holder.pool.write { db in
            try db.execute(sql: "INSERT INTO events (time, level, message) VALUES (0, 'info', 'holding')")
            locked.signal()
            release.wait()
        }
        done.signal()
    }
    locked.wait()
    #expect(throws: DatabaseError.self) {
        try impatient.recordEvent(run: nil, level: .info, "impatient")
    }
    let waited = Collector<Bool>()
    Thread.detachNewThread {
        waited.append((try? patient.recordEvent(run: nil, level: .info, "patient")) != nil)
        done.signal()
    }
    usleep(200_000)
    release.signal()
    done.wait()
    done.wait()
    #expect(waited.all == [true])
    #expect(try holder.events(run: nil).map(\.message).sorted() == ["holding", "patient"])
}

@Test func aTickFiresOnceEvenWhenClaimedConcurrently() throws {
    let dir = try scratchFolder("runstore-ticks")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("runs.sqlite").path
    let stores = [try RunStore(path: path), try RunStore(path: path)]
    let tick: Int64 = 1_700_006_400
    let wins = Collector<RunID>()
    DispatchQueue.concurrentPerform(iterations: 7) { i in
        if let run = try? stores[i % 2].createRunForTick(pipeline: "nightly", tickTime: tick, manifestHash: "h") {
            wins.append(run)
        }
    }
    #expect(wins.all.count == 1)
    let fired = try #require(try stores[0].tick(pipeline: "nightly", tickTime: tick))
    #expect(fired.runID == wins.all.first)
    #expect(try stores[0].runs(RunFilter(pipeline: "nightly")).count == 1)
    #expect(try stores[0].run(try #require(wins.all.first))?.trigger == "schedule")

    // The plain claim: the first call wins, the second is ignored, another tick is independent.
    #expect(try stores[1].claimTick(pipeline: "hourly", tickTime: 3600, now: t0))
    #expect(try stores[0].claimTick(pipeline: "hourly", tickTime: 3600, now: t0 + 1) == false)
    #expect(try stores[0].claimTick(pipeline: "hourly", tickTime: 7200, now: t0 + 2))
    #expect(try stores[0].claimTick(pipeline: "nightly", tickTime: 3600, now: t0 + 3))
    let run = try stores[0].createRun(pipeline: "hourly", manifestHash: "h", trigger: "schedule")
    try stores[0].setTickRun(pipeline: "hourly", tickTime: 7200, runID: run)
    #expect(try stores[0].tick(pipeline: "hourly", tickTime: 3600)?.firedAt == t0)
    #expect(try stores[0].lastTick(pipeline: "hourly") == ScheduleTick(pipeline: "hourly", tickTime: 7200,
                                                                       firedAt: t0 + 2, runID: run))
    #expect(try stores[0].lastTick(pipeline: "weekly") == nil)
    // Deleting the run keeps the tick fired (it must not fire again) but forgets the run.
    try stores[0].deleteRun(run)
    #expect(try stores[0].tick(pipeline: "hourly", tickTime: 7200)?.runID == nil)
    #expect(try stores[0].claimTick(pipeline: "hourly", tickTime: 7200) == false)
}
