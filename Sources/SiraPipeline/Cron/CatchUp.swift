import Foundation

/// What a schedule does about ticks that fell due while nothing was running (the machine was off,
/// the daemon stopped, a nightly cron job did not start). Written `catchup: skip | once | all` in a
/// manifest, with `max_catchup` bounding `all`.
///
/// A tick is *on time* if it fell due within the grace window before now; on-time ticks always run.
/// Older ones are *missed*:
/// - `skip`: missed ticks are recorded as skipped and never run;
/// - `once`: the missed ticks collapse into a single run (of the newest one), unless an on-time tick
///   runs anyway, which already covers them;
/// - `all(max:)`: each missed tick runs, oldest first, but at most the newest `max` of them; older
///   ones are skipped, so a month of downtime does not queue thirty nightly runs.
public enum CatchUpPolicy: Sendable, Hashable, CustomStringConvertible {
    case skip
    case once
    case all(max: Int)

    /// The bound `all` gets when the manifest gives none.
    public static let defaultMaximum = 10

    /// Parses the manifest's words. `max` is only meaningful (and only allowed) with `all`.
    public init(parsing text: String, max: Int? = nil) throws {
        switch text.lowercased() {
        case "skip", "none":
            guard max == nil else { throw CatchUpPolicyError(message: "max_catchup only applies to `catchup: all`, not `\(text)`") }
            self = .skip
        case "once", "latest":
            guard max == nil else { throw CatchUpPolicyError(message: "max_catchup only applies to `catchup: all`, not `\(text)`") }
            self = .once
        case "all":
            let bound = max ?? Self.defaultMaximum
            guard bound >= 1 else { throw CatchUpPolicyError(message: "max_catchup must be at least 1, got \(bound)") }
            self = .all(max: bound)
        default:
            throw CatchUpPolicyError(message: "catchup must be skip, once or all, got \"\(text)\"")
        }
    }

    public var description: String {
        switch self {
        case .skip: return "skip"
        case .once: return "once"
        case let .all(max): return "all (max \(max))"
        }
    }
}

public struct CatchUpPolicyError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The decision for one schedule at one moment: which due ticks to run now.
public struct CatchUpPlan: Sendable, Equatable {
    /// Ticks to run, oldest first; each becomes one run.
    public var run: [Date]
    /// Due ticks that will not run (recorded as skipped, never retried).
    public var skipped: Int
    /// The newest tick at or before now, run or skipped: the schedule's new cursor. Nil if no tick
    /// fell due since the last one.
    public var newestDue: Date?
    /// True if more due ticks existed than were enumerated (`skipped` is then a lower bound).
    public var truncated: Bool
}

public enum CatchUp {
    /// Plans the ticks in (`lastTick`, `now`] of `schedule` under `policy`.
    ///
    /// `lastTick` is the newest tick already fired or skipped (from the tick table), or the moment
    /// the schedule was first seen. `grace` is how late a tick may be and still count as on time
    /// (a daemon's timer wakes a little after the minute; a start-up takes a few seconds).
    /// Enumeration stops after `limit` ticks so `* * * * *` after a year offline stays cheap.
    public static func plan(
        _ schedule: CronSchedule, lastTick: Date, now: Date, policy: CatchUpPolicy,
        grace: TimeInterval = 120, limit: Int = 5_000
    ) -> CatchUpPlan {
        let keepMissed: Int
        switch policy {
        case .skip: keepMissed = 0
        case .once: keepMissed = 1
        case let .all(max): keepMissed = max
        }
        var missed: [Date] = [] // the newest `keepMissed`, as a ring kept in order
        var missedCount = 0
        var onTime: [Date] = []
        var newest: Date?
        var cursor = lastTick
        var seen = 0
        var truncated = false
        while let t = schedule.next(after: cursor), t <= now {
            seen += 1
            if seen > limit { truncated = true; break }
            newest = t
            cursor = t
            if now.timeIntervalSince(t) <= grace {
                onTime.append(t)
            } else {
                missedCount += 1
                if keepMissed > 0 {
                    missed.append(t)
                    if missed.count > keepMissed { missed.removeFirst() }
                }
            }
        }
        if truncated {
            // Too many ticks to walk (a dense schedule after long downtime): plan the last three days
            // alone, which holds the newest ticks, and count the walked ones as skipped.
            let recent = max(cursor, now.addingTimeInterval(-3 * 86_400))
            var tail = plan(schedule, lastTick: recent, now: now, policy: policy, grace: grace, limit: limit)
            tail.skipped += missedCount + onTime.count
            tail.truncated = true
            return tail
        }
        if case .once = policy, !onTime.isEmpty { missed = [] }
        let run = missed + onTime
        let skipped = missedCount - missed.count
        return CatchUpPlan(run: run, skipped: skipped, newestDue: newest, truncated: false)
    }
}
