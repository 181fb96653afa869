import Foundation
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// The clock against a real SQLite store in a temporary folder; "restarts" are new clock objects
/// on the same database.
@Suite struct ScheduleClockTests {
    let nightly = try! CronSchedule(cron: "0 2 * * *", timeZone: "UTC")

    func schedules(_ policy: CatchUpPolicy) -> [PipelineSchedule] {
        [PipelineSchedule(pipeline: "demo", schedule: nightly, catchUp: policy)]
    }

    /// What the daemon does with a due tick: claim it together with its run.
    func start(_ tick: DueTick, _ store: RunStore) throws -> RunID? {
        try store.createRunForTick(pipeline: tick.pipeline, tickTime: tick.tickTime, manifestHash: "m", status: .running)
    }

    @Test func aNewScheduleStartsFromItsPreviousTickWithoutRunningIt() throws {
        try withTemporaryFolder { folder in
            let store = try RunStore(workspace: folder)
            let clock = ScheduleClock(store: store)
            let d = try clock.decide(schedules(.all(max: 5)), now: utc("2024-05-05T09:00:00Z"))
            #expect(d.count == 1 && d[0].firstSeen && d[0].due.isEmpty)
            let last = try #require(try store.lastTick(pipeline: "demo"))
            #expect(last.tickTime == Int64(utc("2024-05-05T02:00:00Z").timeIntervalSince1970))
            #expect(last.runID == nil)
            #expect(try clock.decide(schedules(.all(max: 5)), now: utc("2024-05-05T09:00:00Z")).isEmpty)
        }
    }

    @Test func aRestartNeverFiresATickTwice() throws {
        try withTemporaryFolder { folder in
            let store = try RunStore(workspace: folder)
            _ = try ScheduleClock(store: store).decide(schedules(.once), now: utc("2024-05-04T12:00:00Z"))
            let first = try ScheduleClock(store: store).decide(schedules(.once), now: utc("2024-05-05T02:00:20Z"))
            #expect(first.flatMap(\.due).map(\.description) == ["demo@2024-05-05T02:00:00Z"])
            #expect(try start(first[0].due[0], store) != nil)
            // restarted a minute later, and again an hour later: the tick has fired
            #expect(try ScheduleClock(store: store).decide(schedules(.once), now: utc("2024-05-05T02:01:00Z")).isEmpty)
            #expect(try ScheduleClock(store: store).decide(schedules(.all(max: 3)), now: utc("2024-05-05T03:00:00Z")).isEmpty)
            // and a second claim of the same tick is refused
            #expect(try start(first[0].due[0], store) == nil)
        }
    }

    @Test func aTickHandedOutButNeverStartedIsPlannedAgainAfterARestart() throws {
        try withTemporaryFolder { folder in
            let store = try RunStore(workspace: folder)
            _ = try ScheduleClock(store: store).decide(schedules(.once), now: utc("2024-05-04T12:00:00Z"))
            let clock = ScheduleClock(store: store)
            let handed = try clock.decide(schedules(.once), now: utc("2024-05-05T02:00:05Z"))
            #expect(handed.flatMap(\.due).count == 1)
            // the same clock does not hand it out twice
            #expect(try clock.decide(schedules(.once), now: utc("2024-05-05T02:00:40Z")).isEmpty)
            // the process died before starting it; the next start at 07:00 catches up once
            let after = try ScheduleClock(store: store).decide(schedules(.once), now: utc("2024-05-05T07:00:00Z"))
            #expect(after.flatMap(\.due).map(\.description) == ["demo@2024-05-05T02:00:00Z"])
        }
    }

    @Test func downtimeIsHandledByThePolicy() throws {
        for (policy, expected, skippedCursor) in [
            (CatchUpPolicy.skip, [String](), true),
            (.once, ["demo@2024-05-08T02:00:00Z"], false),
            (.all(max: 2), ["demo@2024-05-07T02:00:00Z", "demo@2024-05-08T02:00:00Z"], false),
        ] {
            try withTemporaryFolder { folder in
                let store = try RunStore(workspace: folder)
                let clock = ScheduleClock(store: store)
                _ = try clock.decide(schedules(policy), now: utc("2024-05-04T12:00:00Z"))
                // down from May 4 noon to May 8 noon: ticks of May 5, 6, 7 and 8 missed
                let d = try ScheduleClock(store: store).decide(schedules(policy), now: utc("2024-05-08T12:00:00Z"))
                #expect(d.flatMap(\.due).map(\.description) == expected, "\(policy)")
                #expect(d.first?.plan.skipped == 4 - expected.count)
                let last = try #require(try store.lastTick(pipeline: "demo"))
                // skipped ticks moved the cursor in the database; run ticks are claimed when started
                #expect((last.tickTime == Int64(utc("2024-05-08T02:00:00Z").timeIntervalSince1970)) == skippedCursor)
            }
        }
    }

    @Test func nextWakeIsTheEarliestTickOverAllSchedules() throws {
        try withTemporaryFolder { folder in
            let clock = ScheduleClock(store: try RunStore(workspace: folder))
            let all = [
                PipelineSchedule(pipeline: "a", schedule: nightly, catchUp: .once),
                PipelineSchedule(pipeline: "b", schedule: try CronSchedule(cron: "30 1 * * *", timeZone: "Europe/Berlin"), catchUp: .once),
            ]
            // 01:30 Berlin in May is 23:30Z the day before
            #expect(clock.nextWake(all, after: utc("2024-05-05T03:00:00Z")).map(iso) == "2024-05-05T23:30:00Z")
        }
    }
}
