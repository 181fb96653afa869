import Foundation
import Hummingbird
import Logging
import SiraStore

/// The `sira-pipeline ui` server: pages and JSON over one workspace's run history, read-only.
///
/// The store is opened with `RunStore(readOnlyPath:)` (WAL readers never block the scheduler's
/// writer); every request reads a fresh snapshot, so a live run's new metrics appear on the next
/// poll without any cache to invalidate.
public struct UIServer: Sendable {
    public var workspace: URL
    public var port: Int
    public var policy: BindPolicy

    public init(workspace: URL, port: Int, policy: BindPolicy) {
        self.workspace = workspace.standardizedFileURL
        self.port = port
        self.policy = policy
    }

    /// Builds the application (opening the database now, so a missing one fails before binding).
    /// `onRunning` is called once the socket is bound and serving (tests wait for it).
    public func application(onRunning: @escaping @Sendable () -> Void = {}) throws -> some ApplicationProtocol {
        let store = try RunStore(readOnlyPath: RunStore.databaseURL(workspace: workspace).path)
        let router = Router()
        router.add(middleware: RequestGuard(token: policy.token))
        Routes(store: store, workspace: workspace, logs: LogFiles(workspace: workspace)).register(on: router)
        var logger = Logger(label: "sira-ui")
        logger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname(policy.host, port: port), serverName: "sira-pipeline"),
                           onServerRunning: { _ in onRunning() }, logger: logger)
    }

    /// Serves until the task is cancelled or the process gets SIGINT/SIGTERM.
    public func run() async throws {
        try await application().runService()
    }
}
