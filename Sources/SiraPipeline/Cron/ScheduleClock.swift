import Foundation
import SiraStore

/// A pipeline's schedule as the clock sees it: a name, when, and what to do after downtime.
public struct PipelineSchedule: Sendable, Hashable {
    public var pipeline: String
    public var schedule: CronSchedule
    public var catchUp: CatchUpPolicy

    public init(pipeline: String, schedule: CronSchedule, catchUp: CatchUpPolicy) {
        self.pipeline = pipeline
        self.schedule = schedule
        self.catchUp = catchUp
    }
}

/// One tick a pipeline should run for. `tickTime` (whole Unix seconds) is the key of the
/// `schedule_ticks` row that is claimed, in the same transaction, when its run is created.
public struct DueTick: Sendable, Hashable, CustomStringConvertible {
    public var pipeline: String
    public var tickTime: Int64
    public var tick: Date { Date(timeIntervalSince1970: TimeInterval(tickTime)) }
    public var description: String { "\(pipeline)@\(ScheduleTimeFormat.iso(tick))" }
}

/// What the clock decided for one pipeline at one wake-up.
public struct ScheduleDecision: Sendable, Equatable {
    public var pipeline: String
    public var plan: CatchUpPlan
    /// The schedule had never fired: its previous tick was recorded (without a run) as the start.
    public var firstSeen: Bool
    public var due: [DueTick] { plan.run.map { DueTick(pipeline: pipeline, tickTime: Int64($0.timeIntervalSince1970)) } }
}

/// Decides which schedule ticks are due, from the ticks recorded in SQLite, so that a restart
/// neither fires a tick twice nor forgets one (within the catch-up policy).
///
/// Contract with the caller (the watch daemon):
/// - call `decide(now:)` whenever `nextWake` passes (and at start-up);
/// - run each returned `DueTick` by claiming it together with its run
///   (`RunStore.createRunForTick`); a failed claim means it already fired: skip it;
/// - ticks returned but never started (the daemon stopped first) are not claimed, so the next
///   start plans them again under the catch-up policy.
///
/// Ticks the policy skips are recorded at once (the newest one, claimed without a run), which moves
/// the schedule's cursor past them. A schedule seen for the first time starts from its previous
/// tick, recorded the same way: a new schedule never catches up on the time before it existed.
public final class ScheduleClock: @unchecked Sendable {
    public let store: RunStore
    /// How late a tick may be and still count as on time (see `CatchUp.plan`).
    public let grace: TimeInterval
    private let lock = NSLock()
    /// Per pipeline, the newest tick already handed out but possibly not yet claimed.
    private var handedOut: [String: Int64] = [:]

    public init(store: RunStore, grace: TimeInterval = 120) {
        self.store = store
        self.grace = grace
    }

    /// The ticks due at `now` for each schedule, oldest first per pipeline. Records skipped ticks
    /// and first-seen starting points in the store.
    public func decide(_ schedules: [PipelineSchedule], now: Date = Date()) throws -> [ScheduleDecision] {
        try lock.withLock {
            var out: [ScheduleDecision] = []
            for s in schedules {
                var firstSeen = false
                var cursor: Int64
                if let last = try store.lastTick(pipeline: s.pipeline)?.tickTime {
                    cursor = last
                } else {
                    firstSeen = true
                    let start = s.schedule.previous(atOrBefore: now.addingTimeInterval(-grace))
                        ?? now.addingTimeInterval(-grace)
                    cursor = Int64(start.timeIntervalSince1970.rounded(.down))
                    _ = try store.claimTick(pipeline: s.pipeline, tickTime: cursor, runID: nil, now: now)
                }
                if let given = handedOut[s.pipeline] { cursor = max(cursor, given) }
                let plan = CatchUp.plan(s.schedule, lastTick: Date(timeIntervalSince1970: TimeInterval(cursor)),
                                        now: now, policy: s.catchUp, grace: grace)
                if let newest = plan.newestDue {
                    let newestTime = Int64(newest.timeIntervalSince1970)
                    if !plan.run.contains(newest) {
                        _ = try store.claimTick(pipeline: s.pipeline, tickTime: newestTime, runID: nil, now: now)
                    }
                    handedOut[s.pipeline] = newestTime
                }
                if firstSeen || plan.newestDue != nil {
                    out.append(ScheduleDecision(pipeline: s.pipeline, plan: plan, firstSeen: firstSeen))
                }
            }
            return out
        }
    }

    /// The earliest next tick over all schedules strictly after `now`.
    public func nextWake(_ schedules: [PipelineSchedule], after now: Date = Date()) -> Date? {
        schedules.compactMap { $0.schedule.next(after: now) }.min()
    }

    /// Forgets ticks handed out but not started (after a manifest reload changed a schedule).
    public func reset(pipeline: String) {
        lock.withLock { _ = handedOut.removeValue(forKey: pipeline) }
    }

    /// A schedule whose expression or zone changed starts afresh, like a new one: its previous tick
    /// (by the new expression) is recorded without a run, so the time since the old schedule's last
    /// tick is not caught up on under rules that did not apply then.
    public func rebase(_ s: PipelineSchedule, now: Date = Date()) throws {
        try lock.withLock {
            handedOut.removeValue(forKey: s.pipeline)
            guard let start = s.schedule.previous(atOrBefore: now.addingTimeInterval(-grace)) else { return }
            let t = Int64(start.timeIntervalSince1970)
            if let last = try store.lastTick(pipeline: s.pipeline)?.tickTime, last >= t { return }
            _ = try store.claimTick(pipeline: s.pipeline, tickTime: t, runID: nil, now: now)
        }
    }
}

/// Timestamps for logs and listings.
public enum ScheduleTimeFormat {
    /// `2024-03-31T01:00:00Z`.
    public static func iso(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    /// `2024-03-31 03:00 +02:00` in `zone` (the offset shows DST).
    public static func local(_ date: Date, in zone: TimeZone) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        f.dateFormat = "yyyy-MM-dd HH:mm xxx"
        return f.string(from: date)
    }
}
