import SiraStore

extension StageStatus {
    /// Whether the stage's outputs are available to its dependants.
    public var producedOutput: Bool { self == .succeeded || self == .cached }
}
