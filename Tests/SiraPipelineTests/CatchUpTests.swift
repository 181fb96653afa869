import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

@Suite struct CatchUpTests {
    /// Nightly at 02:00 UTC; last fired 2024-05-01 02:00; the machine comes back 2024-05-05 09:00,
    /// so 02:00 on May 2, 3, 4 and 5 were missed (4 ticks), none on time.
    let nightly = try! CronSchedule(cron: "0 2 * * *", timeZone: "UTC")
    let last = utc("2024-05-01T02:00:00Z")
    let back = utc("2024-05-05T09:00:00Z")

    @Test func skipRunsNothingAndAdvancesTheCursor() {
        let p = CatchUp.plan(nightly, lastTick: last, now: back, policy: .skip)
        #expect(p.run.isEmpty)
        #expect(p.skipped == 4)
        #expect(p.newestDue.map(iso) == "2024-05-05T02:00:00Z")
    }

    @Test func onceRunsTheNewestMissedTick() {
        let p = CatchUp.plan(nightly, lastTick: last, now: back, policy: .once)
        #expect(p.run.map(iso) == ["2024-05-05T02:00:00Z"])
        #expect(p.skipped == 3)
    }

    @Test func allRunsEachMissedTickUpToTheMaximumOldestFirst() {
        let three = CatchUp.plan(nightly, lastTick: last, now: back, policy: .all(max: 3))
        #expect(three.run.map(iso) == ["2024-05-03T02:00:00Z", "2024-05-04T02:00:00Z", "2024-05-05T02:00:00Z"])
        #expect(three.skipped == 1)
        let ten = CatchUp.plan(nightly, lastTick: last, now: back, policy: .all(max: 10))
        #expect(ten.run.count == 4 && ten.skipped == 0)
        #expect(ten.run.first.map(iso) == "2024-05-02T02:00:00Z")
    }

    @Test func anOnTimeTickRunsUnderEveryPolicy() {
        let now = utc("2024-05-05T02:00:30Z") // 30 s late: on time
        for policy in [CatchUpPolicy.skip, .once, .all(max: 2)] {
            let p = CatchUp.plan(nightly, lastTick: last, now: now, policy: policy)
            #expect(p.run.last.map(iso) == "2024-05-05T02:00:00Z", "\(policy)")
            #expect(p.newestDue.map(iso) == "2024-05-05T02:00:00Z")
        }
        // `once`: the on-time run covers the three missed ticks; `all` adds the newest two of them.
        #expect(CatchUp.plan(nightly, lastTick: last, now: now, policy: .once).run.count == 1)
        #expect(CatchUp.plan(nightly, lastTick: last, now: now, policy: .skip).skipped == 3)
        #expect(CatchUp.plan(nightly, lastTick: last, now: now, policy: .all(max: 2)).run.map(iso)
            == ["2024-05-03T02:00:00Z", "2024-05-04T02:00:00Z", "2024-05-05T02:00:00Z"])
    }

    @Test func nothingDueMeansNothingPlanned() {
        let p = CatchUp.plan(nightly, lastTick: last, now: utc("2024-05-02T01:59:59Z"), policy: .all(max: 5))
        #expect(p.run.isEmpty && p.skipped == 0 && p.newestDue == nil)
        // the tick at exactly lastTick is never planned again
        #expect(CatchUp.plan(nightly, lastTick: last, now: last, policy: .once).run.isEmpty)
    }

    @Test func aYearOfMinutelyTicksIsPlannedFromTheNewest() throws {
        let minutely = try CronSchedule(cron: "* * * * *", timeZone: "UTC")
        let p = CatchUp.plan(minutely, lastTick: utc("2023-05-01T00:00:00Z"), now: utc("2024-05-01T00:00:10Z"), policy: .all(max: 2), grace: 30)
        #expect(p.truncated)
        #expect(p.run.map(iso) == ["2024-04-30T23:58:00Z", "2024-04-30T23:59:00Z", "2024-05-01T00:00:00Z"])
        #expect(p.skipped > 5_000)
        #expect(p.newestDue.map(iso) == "2024-05-01T00:00:00Z")
    }

    @Test func policyWordsParseAndRejectNonsense() throws {
        #expect(try CatchUpPolicy(parsing: "skip") == .skip)
        #expect(try CatchUpPolicy(parsing: "Once") == .once)
        #expect(try CatchUpPolicy(parsing: "all") == .all(max: CatchUpPolicy.defaultMaximum))
        #expect(try CatchUpPolicy(parsing: "all", max: 3) == .all(max: 3))
        #expect(throws: CatchUpPolicyError.self) { try CatchUpPolicy(parsing: "sometimes") }
        #expect(throws: CatchUpPolicyError.self) { try CatchUpPolicy(parsing: "all", max: 0) }
        #expect(throws: CatchUpPolicyError.self) { try CatchUpPolicy(parsing: "once", max: 2) }
    }
}
