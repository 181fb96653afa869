/// Run and stage states (DESIGN.md §7), with the names stored in run tracking.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled, crashed

    public var isFinal: Bool { self != .queued && self != .running }
}

public enum StageStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled, crashed, cached, skipped

    public var isFinal: Bool { self != .queued && self != .running }
    /// Whether the stage's outputs are available to its dependants.
    public var producedOutput: Bool { self == .succeeded || self == .cached }
}
