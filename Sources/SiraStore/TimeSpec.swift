import Foundation

/// Times as people type them on the command line: durations (`90s`, `30m`, `12h`, `7d`, `2w`)
/// for retention, and instants (`2025-01-31`, `2025-01-31T02:00`, full ISO 8601, or a duration
/// meaning "that long ago") for `--since`.
public enum TimeSpec {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var text: String
        public var expected: String
        public var description: String { "'\(text)' is not \(expected)" }
    }

    /// Seconds in a duration such as `45s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds).
    public static func duration(_ text: String) throws -> TimeInterval {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var number = Substring(trimmed), scale = 1.0
        if let last = trimmed.last, let unit = units[last] {
            number = trimmed.dropLast()
            scale = unit
        }
        guard let value = Double(number), value >= 0, value.isFinite else {
            throw ParseError(text: text, expected: "a duration like 90s, 30m, 12h, 7d or 2w")
        }
        return value * scale
    }

    /// An instant: ISO 8601 with a zone (`2025-01-31T02:00:00Z`), a local date (`2025-01-31`,
    /// midnight local time) or local date-time (`2025-01-31T02:00` / `2025-01-31 02:00`), or a
    /// duration before `now` (`7d`).
    public static func instant(_ text: String, now: Date = Date(), timeZone: TimeZone = .current) throws -> Date {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let d = try? duration(trimmed), trimmed.last?.isLetter == true { return now.addingTimeInterval(-d) }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        if let d = iso.date(from: trimmed) { return d }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = iso.date(from: trimmed) { return d }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            f.dateFormat = format
            if let d = f.date(from: trimmed) { return d }
        }
        throw ParseError(text: text, expected: "a time like 2025-01-31, 2025-01-31T02:00, 2025-01-31T02:00:00Z or 7d (ago)")
    }

    /// `1h 02m`, `3m 05s`, `4.2s`, `35ms`: short and readable in a table.
    public static func format(duration seconds: Double) -> String {
        if seconds < 1 { return String(format: "%.0fms", seconds * 1000) }
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        if s < 3600 { return String(format: "%dm %02ds", s / 60, s % 60) }
        return String(format: "%dh %02dm", s / 3600, (s % 3600) / 60)
    }

    /// `2025-01-31 02:00:07` in `timeZone`.
    public static func format(_ date: Date, timeZone: TimeZone = .current) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date)
    }
}
