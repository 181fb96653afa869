import Foundation

/// A parsed 5-field cron expression (`minute hour day-of-month month day-of-week`), with the
/// semantics of Vixie cron (the cron of Debian, cronie and most Linux systems):
///
/// - fields hold `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n`, `a/n` (= `a-max/n`), and
///   comma-separated lists of those; months accept `jan`..`dec`, days of week `sun`..`sat`
///   (case-insensitive); day of week `0` and `7` are both Sunday;
/// - `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly` are shorthands;
///   `?` in a day field is accepted as `*`; `@reboot` is refused (a schedule fires on wall-clock time, never on start-up);
/// - when both day-of-month and day-of-week are restricted (neither field starts with `*`), a day
///   matches if EITHER matches (`0 0 1,15 * fri`: the 1st, the 15th and every Friday); if either
///   field starts with `*` (including `*/2`), both must match.
///
/// The expression is a pure matcher on wall-clock fields; turning it into instants in a time zone
/// (and across DST changes) is `CronSchedule`'s job.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The text as written in the manifest.
    public let source: String
    /// Allowed values per field, as sorted sets. Day of week uses 0...6 (Sunday = 0).
    public let minutes: CronField
    public let hours: CronField
    public let daysOfMonth: CronField
    public let months: CronField
    public let daysOfWeek: CronField
    /// Vixie's flags: the field text started with `*`.
    public let dayOfMonthStar: Bool
    public let dayOfWeekStar: Bool

    public var description: String { source }

    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        source = trimmed
        var fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if fields.count == 1, fields[0].hasPrefix("@") {
            switch fields[0].lowercased() {
            case "@yearly", "@annually": fields = ["0", "0", "1", "1", "*"]
            case "@monthly": fields = ["0", "0", "1", "*", "*"]
            case "@weekly": fields = ["0", "0", "*", "*", "0"]
            case "@daily", "@midnight": fields = ["0", "0", "*", "*", "*"]
            case "@hourly": fields = ["0", "*", "*", "*", "*"]
            case "@reboot":
                throw CronError(expression: trimmed, message: "@reboot is not a schedule; use `watch` to run at start-up")
            default:
                throw CronError(expression: trimmed, message: "unknown shorthand \(fields[0]) (expected @hourly, @daily, @weekly, @monthly or @yearly)")
            }
        }
        guard fields.count == 5 else {
            throw CronError(expression: trimmed, message: "expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        minutes = try CronField.parse(fields[0], kind: .minute, expression: trimmed)
        hours = try CronField.parse(fields[1], kind: .hour, expression: trimmed)
        daysOfMonth = try CronField.parse(fields[2], kind: .dayOfMonth, expression: trimmed)
        months = try CronField.parse(fields[3], kind: .month, expression: trimmed)
        daysOfWeek = try CronField.parse(fields[4], kind: .dayOfWeek, expression: trimmed)
        dayOfMonthStar = fields[2].hasPrefix("*") || fields[2] == "?"
        dayOfWeekStar = fields[4].hasPrefix("*") || fields[4] == "?"
        try checkCanFire()
    }

    /// Whether a calendar day matches, by Vixie's rule for the two day fields.
    /// `weekday` is 0...6 with Sunday = 0.
    public func matchesDay(month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        let dom = daysOfMonth.contains(day)
        let dow = daysOfWeek.contains(weekday)
        if dayOfMonthStar || dayOfWeekStar { return dom && dow }
        return dom || dow
    }

    /// Refuses expressions that can never fire (`0 0 30 2 *`, `0 0 31 4,6,9,11 *`), which would
    /// otherwise be a schedule that silently never runs.
    private func checkCanFire() throws {
        // Under the OR rule (both day fields restricted) every month has every weekday, so it
        // fires; otherwise the day of month must occur in some allowed month (weekdays cycle
        // through every date over the years, Feb 29 included).
        if !dayOfMonthStar && !dayOfWeekStar { return }
        let longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        let possible = months.values.contains { m in daysOfMonth.values.contains { $0 <= longest[m] } }
        if !possible {
            throw CronError(expression: source, message: "never fires: no allowed month has day \(daysOfMonth.values.map(String.init).joined(separator: ","))")
        }
    }
}

/// The allowed values of one cron field.
public struct CronField: Sendable, Hashable {
    public enum Kind: Sendable {
        case minute, hour, dayOfMonth, month, dayOfWeek

        var name: String {
            switch self {
            case .minute: return "minute"
            case .hour: return "hour"
            case .dayOfMonth: return "day-of-month"
            case .month: return "month"
            case .dayOfWeek: return "day-of-week"
            }
        }

        /// Bounds as written; day of week accepts 7 for Sunday and folds it to 0 after parsing.
        var range: ClosedRange<Int> {
            switch self {
            case .minute: return 0 ... 59
            case .hour: return 0 ... 23
            case .dayOfMonth: return 1 ... 31
            case .month: return 1 ... 12
            case .dayOfWeek: return 0 ... 7
            }
        }

        var names: [String] {
            switch self {
            case .month: return ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            case .dayOfWeek: return ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            default: return []
            }
        }

        /// The value a name stands for (`jan` = 1, `sun` = 0).
        var nameBase: Int { self == .month ? 1 : 0 }
    }

    /// Sorted, distinct.
    public let values: [Int]
    private let mask: UInt64

    init(values: Set<Int>) {
        self.values = values.sorted()
        mask = values.reduce(0) { $0 | (1 << UInt64($1)) }
    }

    public func contains(_ value: Int) -> Bool {
        value >= 0 && value < 64 && mask & (1 << UInt64(value)) != 0
    }

    /// The smallest allowed value `>= value`, if any.
    public func first(atLeast value: Int) -> Int? {
        values.first { $0 >= value }
    }

    static func parse(_ text: String, kind: Kind, expression: String) throws -> CronField {
        func fail(_ message: String) -> CronError {
            CronError(expression: expression, message: "\(kind.name) field \"\(text)\": \(message)")
        }
        func number(_ token: Substring) throws -> Int {
            let lower = token.lowercased()
            if let index = kind.names.firstIndex(of: lower) { return index + kind.nameBase }
            guard !token.isEmpty, token.allSatisfy(\.isASCII), let n = Int(token) else {
                let expected = kind.names.isEmpty ? "a number" : "a number or a name (\(kind.names.first!)...\(kind.names.last!))"
                throw fail("\"\(token)\" is not \(expected)")
            }
            guard kind.range.contains(n) else {
                throw fail("\(n) is out of range \(kind.range.lowerBound)-\(kind.range.upperBound)")
            }
            return n
        }

        var set = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw fail("empty list item") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw fail("more than one step in \"\(item)\"") }
            var step = 1
            if parts.count == 2 {
                guard let s = Int(parts[1]), s > 0 else { throw fail("step \"\(parts[1])\" is not a positive number") }
                guard s <= kind.range.upperBound else { throw fail("step \(s) is larger than the field's range") }
                step = s
            }
            let base = parts[0]
            let low: Int, high: Int
            // `?` (Quartz, some cron dialects) means "no particular day": the same as `*`.
            if base == "*" || (base == "?" && (kind == .dayOfMonth || kind == .dayOfWeek)) {
                low = kind.range.lowerBound
                high = kind == .dayOfWeek ? 6 : kind.range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                low = try number(base[..<dash])
                high = try number(base[base.index(after: dash)...])
                guard low <= high else { throw fail("range \(low)-\(high) runs backwards") }
            } else {
                low = try number(base)
                high = parts.count == 2 ? (kind == .dayOfWeek ? 6 : kind.range.upperBound) : low
            }
            for v in stride(from: low, through: high, by: step) {
                set.insert(kind == .dayOfWeek && v == 7 ? 0 : v)
            }
        }
        return CronField(values: set)
    }
}

/// A cron expression that cannot be parsed or can never fire; the message names the field.
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    public let message: String
    public var description: String { "cron \"\(expression)\": \(message)" }
}
