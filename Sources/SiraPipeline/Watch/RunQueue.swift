import Foundation
import SiraStore

/// Why the daemon runs a pipeline.
public enum RunTrigger: Sendable, Hashable, CustomStringConvertible {
    /// Its inputs may have changed (files arrived, start-up, manifest reloaded): runs only if the
    /// input fingerprint differs from the last processed one.
    case inputs
    /// A schedule tick, claimed together with the run.
    case schedule(DueTick)
    /// A run that crashed (or was stopped) is picked up again; stages resume from saved state.
    case resume(previous: RunID)

    /// The `runs.trigger` value.
    public var recorded: String {
        switch self {
        case .inputs: return "watch"
        case .schedule: return "schedule"
        case .resume: return "resume"
        }
    }

    public var description: String {
        switch self {
        case .inputs: return "new inputs"
        case let .schedule(tick): return "tick \(ScheduleTimeFormat.iso(tick.tick))"
        case let .resume(previous): return "resume of run \(previous)"
        }
    }
}

public struct RunRequest: Sendable, Hashable {
    public var pipeline: String
    public var trigger: RunTrigger
    /// When it was queued (for the file-to-run latency).
    public var queuedAt: Date

    public init(pipeline: String, trigger: RunTrigger, queuedAt: Date = Date()) {
        self.pipeline = pipeline
        self.trigger = trigger
        self.queuedAt = queuedAt
    }
}

/// The daemon's queue of runs, FIFO, served one at a time so that two runs never overlap on a
/// task (`--jobs` parallelises stages within a run). An `inputs` request for a pipeline that
/// already has one waiting is merged into it: the run reads its inputs when it starts, so one run
/// covers every file that arrived while it waited. Ticks and resumes are never merged.
public final class RunQueue: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [RunRequest] = []
    private var stopped = false

    public init() {}

    /// Adds a request; returns false if merged into a waiting one (or the queue is stopped).
    @discardableResult
    public func enqueue(_ request: RunRequest) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        if stopped { return false }
        if request.trigger == .inputs, items.contains(where: { $0.pipeline == request.pipeline && $0.trigger == .inputs }) {
            return false
        }
        items.append(request)
        cond.signal()
        return true
    }

    /// The next request, waiting for one; nil once stopped.
    public func next() -> RunRequest? {
        cond.lock()
        defer { cond.unlock() }
        while items.isEmpty, !stopped { cond.wait() }
        if stopped { return nil }
        return items.removeFirst()
    }

    /// Stops serving; requests still waiting are dropped and returned (ticks among them were never
    /// claimed, so the next start plans them again).
    @discardableResult
    public func stop() -> [RunRequest] {
        cond.lock()
        defer { cond.unlock() }
        stopped = true
        let dropped = items
        items = []
        cond.broadcast()
        return dropped
    }

    public var waiting: [RunRequest] {
        cond.lock()
        defer { cond.unlock() }
        return items
    }
}
