import Foundation

/// A cron expression bound to a named time zone: the instants at which a schedule fires.
///
/// The expression matches wall-clock times in `timeZone` (`0 2 * * *` in Europe/Berlin is 02:00
/// Berlin time, winter and summer). Each matching wall time fires exactly once, at one instant:
///
/// - a wall time that occurs once fires then;
/// - a wall time repeated by a backward change (fall-back: 02:00–02:59 twice in Berlin on the last
///   Sunday of October) fires once, at its FIRST occurrence; the repeat is not a new tick, so
///   `0 * * * *` fires at 02:00 CEST and next at 03:00 CET, and `30 2 * * *` runs once that night;
/// - a wall time skipped by a forward change (spring-forward: 02:00–02:59 never happens in Berlin
///   on the last Sunday of March) fires once at the first valid instant after the gap, the moment
///   of the change (03:00 CEST); several skipped wall times, or a skipped one and the wall time
///   right after the gap, collapse into that single tick.
///
/// This is Vixie cron's behaviour for fixed-time jobs (skipped ones run right after the change,
/// repeated ones once), applied to every job, so a schedule's tick count never depends on DST.
/// Ticks are whole minutes of wall time; a gap tick is the transition instant itself.
public struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    public let expression: CronExpression
    public let timeZone: TimeZone

    /// How far ahead `next(after:)` searches; a parsed expression always fires well within it.
    static let horizonYears = 400

    public init(_ expression: CronExpression, timeZone: TimeZone) {
        self.expression = expression
        self.timeZone = timeZone
    }

    /// Parses `cron` and resolves `timeZone` (an IANA name such as `Europe/Berlin`); a missing zone
    /// means the machine's own, as with system cron.
    public init(cron: String, timeZone identifier: String? = nil) throws {
        let expression = try CronExpression(cron)
        guard let identifier else {
            self.init(expression, timeZone: .current)
            return
        }
        guard let zone = TimeZone(identifier: identifier) else {
            throw CronError(expression: cron, message: "unknown time zone \"\(identifier)\" (expected an IANA name such as Europe/Berlin or UTC)")
        }
        self.init(expression, timeZone: zone)
    }

    public var description: String { "\(expression.source) (\(timeZone.identifier))" }

    /// The first tick strictly after `date`, or nil if none within the search horizon.
    public func next(after date: Date) -> Date? {
        let d = Int(date.timeIntervalSince1970.rounded(.down))
        // Every wall time before `wall` maps to an instant <= d (see `instant(ofWall:)`), so the
        // search can start there; starting at the smallest nearby offset covers fall-back repeats.
        let nearby = [d - 86_400, d, d + 86_400].map(offset(at:))
        var wall = WallTime(seconds: d + nearby.min()!)
        let lastYear = wall.year + Self.horizonYears
        while let match = nextMatch(from: wall, throughYear: lastYear) {
            let t = instant(ofWall: match.seconds)
            if t > d { return Date(timeIntervalSince1970: TimeInterval(t)) }
            wall = WallTime(seconds: match.seconds + 60)
        }
        return nil
    }

    /// The next `count` ticks after `date`, in order.
    public func fireTimes(after date: Date, count: Int) -> [Date] {
        var out: [Date] = []
        var cursor = date
        while out.count < count, let t = next(after: cursor) {
            out.append(t)
            cursor = t
        }
        return out
    }

    /// The newest tick at or before `date`, or nil if none within the search horizon. Searches
    /// backwards in growing windows (a day, a month, a year, then the horizon).
    public func previous(atOrBefore date: Date) -> Date? {
        var span: TimeInterval = 86_400
        let horizon = TimeInterval(Self.horizonYears) * 366 * 86_400
        while true {
            var best: Date?
            var cursor = date.addingTimeInterval(-span)
            while let t = next(after: cursor), t <= date {
                best = t
                cursor = t
            }
            if let best { return best }
            if span >= horizon { return nil }
            span = min(span * 32, horizon)
        }
    }

    // MARK: wall clock

    /// The smallest wall time `>= start` the expression matches, searching years through `lastYear`.
    func nextMatch(from start: WallTime, throughYear lastYear: Int) -> WallTime? {
        let e = expression
        var (y, mo, d, h, mi) = (start.year, start.month, start.day, start.hour, start.minute)
        while y <= lastYear {
            guard let month = e.months.first(atLeast: mo) else {
                (y, mo, d, h, mi) = (y + 1, 1, 1, 0, 0)
                continue
            }
            if month != mo { (mo, d, h, mi) = (month, 1, 0, 0) }
            if d > CivilCalendar.daysInMonth(year: y, month: mo) {
                (mo, d, h, mi) = (mo + 1, 1, 0, 0)
                if mo > 12 { (y, mo) = (y + 1, 1) }
                continue
            }
            if !e.matchesDay(month: mo, day: d, weekday: CivilCalendar.weekday(year: y, month: mo, day: d)) {
                (d, h, mi) = (d + 1, 0, 0)
                continue
            }
            guard let hour = e.hours.first(atLeast: h) else {
                (d, h, mi) = (d + 1, 0, 0)
                continue
            }
            if hour != h { (h, mi) = (hour, 0) }
            guard let minute = e.minutes.first(atLeast: mi) else {
                (h, mi) = (h + 1, 0)
                continue
            }
            return WallTime(year: y, month: mo, day: d, hour: h, minute: minute)
        }
        return nil
    }

    // MARK: wall clock → instant

    func offset(at instant: Int) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))
    }

    /// The instant a wall time (seconds since 1970-01-01T00:00 of the zone's own clock) fires at,
    /// by the rule in the type's documentation. Non-decreasing in `wall`.
    ///
    /// The offsets in force a day before and a day after bracket the wall time; a zone changes its
    /// offset at most once within two days, so one of three cases holds.
    func instant(ofWall wall: Int) -> Int {
        let before = offset(at: wall - 86_400)
        let after = offset(at: wall + 86_400)
        let early = wall - before, late = wall - after
        let earlyValid = offset(at: early) == before
        let lateValid = offset(at: late) == after
        switch (earlyValid, lateValid) {
        case (true, true): return min(early, late) // repeated (or ordinary): first occurrence
        case (true, false): return early
        case (false, true): return late
        case (false, false):
            // Skipped by a forward change: the change happens in (late, early]; find it.
            var lo = late, hi = early
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2
                if offset(at: mid) == before { lo = mid } else { hi = mid }
            }
            return hi
        }
    }
}

/// A wall-clock minute, free of any time zone: proleptic Gregorian calendar arithmetic.
struct WallTime: Hashable, Sendable {
    var year: Int, month: Int, day: Int, hour: Int, minute: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        (self.year, self.month, self.day, self.hour, self.minute) = (year, month, day, hour, minute)
    }

    /// From seconds since 1970-01-01T00:00 wall time; seconds within the minute are dropped.
    init(seconds: Int) {
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let rest = seconds - days * 86_400
        (year, month, day) = CivilCalendar.civil(fromDays: days)
        hour = rest / 3600
        minute = (rest % 3600) / 60
    }

    var seconds: Int {
        CivilCalendar.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60
    }
}

/// Gregorian day arithmetic (Howard Hinnant's days-from-civil algorithms).
enum CivilCalendar {
    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// 0...6, Sunday = 0 (1970-01-01 was a Thursday).
    static func weekday(year: Int, month: Int, day: Int) -> Int {
        let z = days(year: year, month: month, day: day)
        return ((z % 7) + 7 + 4) % 7
    }
}
