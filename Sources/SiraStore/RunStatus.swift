/// The life of a run (DESIGN.md §7). `queued` and `running` are live; the rest are final.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled, crashed

    /// A final status never changes again, except that a crashed or cancelled run may be resumed
    /// by a new run (a new row), never by rewriting this one.
    public var isFinal: Bool { self != .queued && self != .running }
}

/// The life of one stage attempt. `cached`: skipped because an earlier stage run with the same
/// cache key produced the outputs; `skipped`: not run because something it depends on failed.
public enum StageStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled, crashed, cached, skipped

    public var isFinal: Bool { self != .queued && self != .running }
}

/// Severity of a run event.
public enum EventLevel: String, Codable, Sendable, CaseIterable {
    case debug, info, warning, error
}
