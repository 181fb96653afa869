import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

@Suite struct CronExpressionTests {
    @Test func fieldsExpandListsRangesStepsAndNames() throws {
        let e = try CronExpression("1-10/3,30 */6 1,15-17 jan-mar,DEC mon-fri")
        #expect(e.minutes.values == [1, 4, 7, 10, 30])
        #expect(e.hours.values == [0, 6, 12, 18])
        #expect(e.daysOfMonth.values == [1, 15, 16, 17])
        #expect(e.months.values == [1, 2, 3, 12])
        #expect(e.daysOfWeek.values == [1, 2, 3, 4, 5])
        #expect(!e.dayOfMonthStar && !e.dayOfWeekStar)
    }

    @Test func sundayIsZeroOrSevenAndSingleValueStepRunsToTheEnd() throws {
        #expect(try CronExpression("0 0 * * 7").daysOfWeek.values == [0])
        #expect(try CronExpression("0 0 * * 5-7").daysOfWeek.values == [0, 5, 6])
        #expect(try CronExpression("50/4 0 * * *").minutes.values == [50, 54, 58])
        #expect(try CronExpression("0 0 * * */3").daysOfWeek.values == [0, 3, 6])
        #expect(try CronExpression("0 0 */10 * *").daysOfMonth.values == [1, 11, 21, 31])
    }

    @Test func shorthandsExpandToTheirFields() throws {
        let table: [(String, String)] = [
            ("@hourly", "0 * * * *"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
            ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"),
            ("@ANNUALLY", "0 0 1 1 *"),
        ]
        for (short, long) in table {
            let a = try CronExpression(short), b = try CronExpression(long)
            #expect(a.minutes == b.minutes && a.hours == b.hours && a.daysOfMonth == b.daysOfMonth)
            #expect(a.months == b.months && a.daysOfWeek == b.daysOfWeek, "\(short)")
            #expect(a.dayOfMonthStar == b.dayOfMonthStar && a.dayOfWeekStar == b.dayOfWeekStar)
        }
    }

    @Test func vixieDayRule() throws {
        // Both restricted: either matches. 2024-03-08 is a Friday, 2024-03-09 a Saturday.
        let or = try CronExpression("0 0 1,15 * fri")
        #expect(or.matchesDay(month: 3, day: 8, weekday: 5))
        #expect(or.matchesDay(month: 3, day: 15, weekday: 5))
        #expect(or.matchesDay(month: 3, day: 1, weekday: 5))
        #expect(!or.matchesDay(month: 3, day: 9, weekday: 6))
        // Day-of-month starts with `*`: both must hold.
        let and = try CronExpression("0 0 */10 * mon")
        #expect(and.matchesDay(month: 3, day: 11, weekday: 1))
        #expect(!and.matchesDay(month: 3, day: 12, weekday: 2))
        #expect(!and.matchesDay(month: 3, day: 4, weekday: 1))
    }

    @Test func badExpressionsNameTheFieldAndToken() {
        let table: [(String, String)] = [
            ("0 25 * * *", "hour field \"25\": 25 is out of range 0-23"),
            ("61 * * * *", "minute field \"61\": 61 is out of range 0-59"),
            ("0 0 0 * *", "day-of-month field \"0\": 0 is out of range 1-31"),
            ("0 0 * 13 *", "month field \"13\": 13 is out of range 1-12"),
            ("0 0 * * 8", "day-of-week field \"8\": 8 is out of range 0-7"),
            ("0 0 * foo *", "month field \"foo\": \"foo\" is not a number or a name (jan...dec)"),
            ("*/0 * * * *", "minute field \"*/0\": step \"0\" is not a positive number"),
            ("5-1 * * * *", "minute field \"5-1\": range 5-1 runs backwards"),
            ("1,,2 * * * *", "minute field \"1,,2\": empty list item"),
            ("0 0 * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"),
            ("0 0 1 * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 6"),
            ("@fortnightly", "unknown shorthand @fortnightly (expected @hourly, @daily, @weekly, @monthly or @yearly)"),
            ("0 0 30 2 *", "never fires: no allowed month has day 30"),
            ("0 0 31 apr,jun,sep,nov *", "never fires: no allowed month has day 31"),
        ]
        for (text, message) in table {
            #expect(throws: CronError(expression: text, message: message), "\(text)") { try CronExpression(text) }
        }
        #expect(throws: CronError.self) { try CronExpression("@reboot") }
        // Feb 29 exists, and under the OR rule a weekday keeps `30 feb` alive.
        #expect((try? CronExpression("0 0 29 2 *")) != nil)
        #expect((try? CronExpression("0 0 30 2 mon")) != nil)
    }
}
