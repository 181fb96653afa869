import Foundation
import SiraIO

/// The watch daemon's heartbeat file, `data/watch.json`, rewritten atomically every few seconds:
/// who runs, since when, what it is doing. `schedule` and people read it; a `beat` older than a few
/// intervals with `state: running` means the daemon died without stopping (its runs are then
/// marked `crashed` by the next start). The workspace lock, not this file, keeps daemons single.
public struct DaemonStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case running, stopping, stopped
    }

    public var pid: Int32
    public var host: String
    public var state: State
    public var mode: String
    public var startedAt: Date
    public var beat: Date
    public var pipelines: [String]
    /// The run in progress, if any.
    public var currentRun: Int64?
    public var currentPipeline: String?
    public var queued: Int
    public var nextTick: Date?

    public static func url(_ workspace: Workspace) -> URL {
        workspace.dataFolder.appendingPathComponent("watch.json")
    }

    public func write(_ workspace: Workspace) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try AtomicFile.write(Array(try encoder.encode(self)), to: Self.url(workspace))
    }

    public static func read(_ workspace: Workspace) -> DaemonStatus? {
        guard let data = try? Data(contentsOf: url(workspace)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(DaemonStatus.self, from: data)
    }
}
