import Foundation
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// "2024-03-31T01:00:00Z" → Date.
func utc(_ text: String) -> Date {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    guard let d = f.date(from: text) else { fatalError("bad test date \(text)") }
    return d
}

func iso(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: date)
}

@Suite struct CronScheduleTests {
    struct Case: Sendable, CustomStringConvertible {
        let cron: String, zone: String, after: String, expected: [String]
        var description: String { "\(cron) in \(zone) after \(after)" }
    }

    /// Hand-computed: weekdays from 2024-01-01 = Monday; Berlin switches at 01:00Z on the last
    /// Sundays of March (CET→CEST, 02:00–02:59 skipped) and October (CEST→CET, 02:00–02:59 twice);
    /// New York at 07:00Z on 2024-03-10 (02:00–02:59 skipped) and 06:00Z on 2024-11-03
    /// (01:00–01:59 twice).
    static let table: [Case] = [
        // month ends: only 31-day months, and Feb skipped for day 30
        Case(cron: "0 0 31 * *", zone: "UTC", after: "2024-01-31T00:00:00Z",
             expected: ["2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z", "2024-08-31T00:00:00Z"]),
        Case(cron: "15 6 30 * *", zone: "UTC", after: "2023-01-30T06:15:00Z",
             expected: ["2023-03-30T06:15:00Z", "2023-04-30T06:15:00Z"]),
        Case(cron: "59 23 28-31 2 *", zone: "UTC", after: "2023-01-01T00:00:00Z",
             expected: ["2023-02-28T23:59:00Z", "2024-02-28T23:59:00Z", "2024-02-29T23:59:00Z", "2025-02-28T23:59:00Z"]),
        // leap days, including the skipped century year 2100
        Case(cron: "0 12 29 2 *", zone: "UTC", after: "2023-03-01T00:00:00Z",
             expected: ["2024-02-29T12:00:00Z", "2028-02-29T12:00:00Z"]),
        Case(cron: "0 12 29 feb *", zone: "UTC", after: "2096-03-01T00:00:00Z",
             expected: ["2104-02-29T12:00:00Z"]),
        // day-of-month OR day-of-week (both restricted); 2024-03-01 is a Friday
        Case(cron: "0 0 1,15 * fri", zone: "UTC", after: "2024-03-01T00:00:00Z",
             expected: ["2024-03-08T00:00:00Z", "2024-03-15T00:00:00Z", "2024-03-22T00:00:00Z",
                        "2024-03-29T00:00:00Z", "2024-04-01T00:00:00Z", "2024-04-05T00:00:00Z"]),
        // `*/10` counts as `*`: AND. Days 1, 11, 21, 31 that are Mondays.
        Case(cron: "0 0 */10 * mon", zone: "UTC", after: "2024-01-01T00:00:00Z",
             expected: ["2024-03-11T00:00:00Z", "2024-04-01T00:00:00Z", "2024-07-01T00:00:00Z"]),
        Case(cron: "@weekly", zone: "UTC", after: "2024-01-01T00:00:00Z",
             expected: ["2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"]),
        Case(cron: "*/15 9-17 * * mon-fri", zone: "UTC", after: "2024-03-01T17:50:00Z",
             expected: ["2024-03-04T09:00:00Z", "2024-03-04T09:15:00Z"]),
        Case(cron: "0 0 1 jan,jul *", zone: "UTC", after: "2024-01-01T00:00:00Z",
             expected: ["2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"]),
        Case(cron: "@hourly", zone: "UTC", after: "2024-01-01T00:59:59Z",
             expected: ["2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"]),
        Case(cron: "@yearly", zone: "UTC", after: "2024-12-31T23:59:00Z",
             expected: ["2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]),
        Case(cron: "1-10/3 * * * *", zone: "UTC", after: "2024-01-01T00:00:00Z",
             expected: ["2024-01-01T00:01:00Z", "2024-01-01T00:04:00Z", "2024-01-01T00:07:00Z", "2024-01-01T00:10:00Z", "2024-01-01T01:01:00Z"]),
        // a fixed zone: 02:00 Berlin is 01:00Z in winter, 00:00Z in summer
        Case(cron: "0 2 * * *", zone: "Europe/Berlin", after: "2024-01-10T00:00:00Z",
             expected: ["2024-01-10T01:00:00Z", "2024-01-11T01:00:00Z"]),
        // Berlin spring-forward: 02:30 does not exist on 2024-03-31, fires at the change (03:00 CEST)
        Case(cron: "30 2 * * *", zone: "Europe/Berlin", after: "2024-03-30T12:00:00Z",
             expected: ["2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z"]),
        Case(cron: "0,30 2 * * *", zone: "Europe/Berlin", after: "2024-03-30T01:30:00Z",
             expected: ["2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z", "2024-04-01T00:30:00Z"]),
        // hourly across the gap: 02:00 (skipped) and 03:00 CEST are the same instant, once
        Case(cron: "0 * * * *", zone: "Europe/Berlin", after: "2024-03-31T00:30:00Z",
             expected: ["2024-03-31T01:00:00Z", "2024-03-31T02:00:00Z", "2024-03-31T03:00:00Z"]),
        // Berlin fall-back: 02:30 happens twice on 2024-10-27, fires at the first (CEST)
        Case(cron: "30 2 * * *", zone: "Europe/Berlin", after: "2024-10-26T12:00:00Z",
             expected: ["2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"]),
        Case(cron: "0 * * * *", zone: "Europe/Berlin", after: "2024-10-26T23:30:00Z",
             expected: ["2024-10-27T00:00:00Z", "2024-10-27T02:00:00Z", "2024-10-27T03:00:00Z"]),
        Case(cron: "*/30 * * * *", zone: "Europe/Berlin", after: "2024-10-27T00:40:00Z",
             expected: ["2024-10-27T02:00:00Z", "2024-10-27T02:30:00Z"]),
        // New York spring-forward (2024-03-10, 02:00 EST → 03:00 EDT at 07:00Z)
        Case(cron: "30 2 * * *", zone: "America/New_York", after: "2024-03-09T12:00:00Z",
             expected: ["2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"]),
        Case(cron: "0 0 * * *", zone: "America/New_York", after: "2024-03-09T12:00:00Z",
             expected: ["2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"]),
        // New York fall-back (2024-11-03, 01:00–01:59 twice; EDT → EST at 06:00Z)
        Case(cron: "30 1 * * *", zone: "America/New_York", after: "2024-11-02T12:00:00Z",
             expected: ["2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"]),
        Case(cron: "*/20 1-3 * * *", zone: "America/New_York", after: "2024-11-03T04:00:00Z",
             expected: ["2024-11-03T05:00:00Z", "2024-11-03T05:20:00Z", "2024-11-03T05:40:00Z",
                        "2024-11-03T07:00:00Z", "2024-11-03T07:20:00Z"]),
    ]

    @Test(arguments: table)
    func nextFireTimesMatchHandComputed(_ c: Case) throws {
        let s = try CronSchedule(cron: c.cron, timeZone: c.zone)
        let got = s.fireTimes(after: utc(c.after), count: c.expected.count).map(iso)
        #expect(got == c.expected)
    }

    @Test func nextIsStrictlyAfterAndSubSecondSafe() throws {
        let s = try CronSchedule(cron: "0 2 * * *", timeZone: "UTC")
        #expect(iso(s.next(after: utc("2024-05-01T02:00:00Z"))!) == "2024-05-02T02:00:00Z")
        #expect(iso(s.next(after: utc("2024-05-01T01:59:59Z").addingTimeInterval(0.999))!) == "2024-05-01T02:00:00Z")
    }

    @Test func unknownTimeZoneIsAClearError() {
        #expect(throws: CronError.self) { try CronSchedule(cron: "0 2 * * *", timeZone: "Europe/Berln") }
        do {
            _ = try CronSchedule(cron: "0 2 * * *", timeZone: "Europe/Berln")
        } catch {
            #expect("\(error)".contains("unknown time zone \"Europe/Berln\""))
        }
    }

    /// The jumping search against a naive reference: walk every minute of real time, read the wall
    /// clock through Foundation's `Calendar`, and fire when a wall minute matches for the first time,
    /// or, at a forward jump, when any skipped wall minute matched.
    @Test(arguments: ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
    func agreesWithMinuteByMinuteReference(zoneName: String) throws {
        let zone = try #require(TimeZone(identifier: zoneName))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        // three-day windows around both 2024 changes of each zone, plus a leap-day window
        var windowStarts: [Date] = [utc("2024-02-27T00:00:00Z")]
        var probe = utc("2024-01-01T00:00:00Z")
        while let t = zone.nextDaylightSavingTimeTransition(after: probe), t < utc("2025-01-01T00:00:00Z") {
            windowStarts.append(t.addingTimeInterval(-36 * 3600))
            probe = t
        }
        #expect(windowStarts.count == 3)
        let expressions = ["0 * * * *", "30 2 * * *", "*/20 1-3 * * *", "0,30 2 * * *", "15 */2 * * *",
                           "0 0 29 2 *", "45 1 * * sun", "*/7 * * * *", "0 3 1,31 * wed"].map { try! CronExpression($0) }
        for start in windowStarts {
            let minutes = 3 * 24 * 60
            var walls: [WallTime] = []
            for i in 0 ... minutes {
                let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: start.addingTimeInterval(Double(i * 60)))
                walls.append(WallTime(year: c.year!, month: c.month!, day: c.day!, hour: c.hour!, minute: c.minute!))
            }
            var weekdays: [Int: Int] = [:]
            func weekday(_ w: WallTime) -> Int {
                let key = w.year * 10_000 + w.month * 100 + w.day
                if let known = weekdays[key] { return known }
                let date = calendar.date(from: DateComponents(year: w.year, month: w.month, day: w.day, hour: 12))!
                let value = calendar.component(.weekday, from: date) - 1
                weekdays[key] = value
                return value
            }
            for e in expressions {
                func matches(_ w: WallTime) -> Bool {
                    let weekday = weekday(w)
                    return e.minutes.contains(w.minute) && e.hours.contains(w.hour) && e.matchesDay(month: w.month, day: w.day, weekday: weekday)
                }
                var reference: [Date] = []
                var highest = walls[0].seconds
                for i in 1 ... minutes {
                    let w = walls[i], t = start.addingTimeInterval(Double(i * 60))
                    var fire = false
                    if w.seconds > highest {
                        var s = highest + 60
                        while s <= w.seconds { if matches(WallTime(seconds: s)) { fire = true }; s += 60 }
                        highest = w.seconds
                    }
                    if fire { reference.append(t) }
                }
                let schedule = CronSchedule(e, timeZone: zone)
                var got: [Date] = []
                var cursor = start
                while let t = schedule.next(after: cursor), t <= start.addingTimeInterval(Double(minutes * 60)) {
                    got.append(t); cursor = t
                }
                #expect(got.map(iso) == reference.map(iso), "\(e.source) in \(zoneName) from \(iso(start))")
            }
        }
    }
}
