import ArgumentParser
import Foundation
import Logging
import SiraPipeline
import SiraStages

/// `sira-pipeline watch [--poll] [--jobs N] [--log-format text|json]`: the long-running daemon that
/// runs pipelines when complete files land in `data/inbox/` and when their schedules fire, until
/// SIGTERM/SIGINT (clean stop, exit 0). SIGHUP reloads the manifests.
///
/// Exit status: 0 stopped by a signal; 1 could not start; 75 another scheduler holds the workspace.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Run pipelines as files arrive in data/inbox/ and as their schedules fire, until stopped.",
        discussion: """
        Signals: SIGTERM/SIGINT stop cleanly (the running stage reaches its next saved state; exit 0), \
        a second one exits at once; SIGHUP reloads pipelines/*.yaml, keeping the old version of a \
        manifest that no longer loads. Exit status: 0 stopped, 1 could not start, 75 workspace busy.
        """
    )

    @Flag(help: "Scan the inbox periodically instead of inotify (network filesystems).")
    var poll = false

    @Option(name: .customLong("poll-interval"), help: "Seconds between scans with --poll.")
    var pollInterval: Double = 2

    @Option(help: "Stages to run at once within a run (default: the manifest's `jobs`); runs never overlap.")
    var jobs: Int?

    @Option(name: .customLong("log-format"), help: "text (for people) or json (one object per line, for log collectors).")
    var logFormat: String = "text"

    @Option(name: .customLong("log-level"), help: "debug, info, warning or error.")
    var logLevel: String = "info"

    @Option(help: "The workspace folder (default: the current folder).")
    var workspace: String?

    func validate() throws {
        guard LineLogHandler.Format(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        guard pollInterval > 0 else { throw ValidationError("--poll-interval must be positive") }
    }

    func run() throws {
        let format = LineLogHandler.Format(rawValue: logFormat)!
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, format: format)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sira.watch")
        let ws = Workspace(root: URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath))
        let options = WatchOptions(pollInterval: poll ? pollInterval : nil, jobs: jobs)
        let daemon = WatchDaemon(workspace: ws, options: options, logger: logger,
                                 planner: { try PipelinePlanner.plan($0, $1) }, quarantine: dataQuarantine(ws),
                                 archive: dataArchive(ws))
        do {
            try daemon.start()
        } catch let busy as WorkspaceBusy {
            logger.error("\(busy)")
            throw ExitCode(75)
        } catch {
            logger.error("cannot start: \(error)")
            throw ExitCode(1)
        }
        let status = daemon.runUntilSignalled()
        if status != 0 { throw ExitCode(status) }
    }
}
