import SiraStore

/// A run records every attempt of a stage (retries, resumes); readers mostly want the last one.
public enum StageAttempts {
    /// The latest attempt of every stage, in first-start order.
    public static func latest(_ stages: [StageRunRecord]) -> [StageRunRecord] {
        var order: [String] = [], last: [String: StageRunRecord] = [:]
        for s in stages {
            if last[s.stage] == nil { order.append(s.stage) }
            last[s.stage] = s
        }
        return order.map { last[$0]! }
    }
}
