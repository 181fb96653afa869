import ArgumentParser
import Foundation
import SiraUI

/// `sira-pipeline ui [--port 8686] [--host 127.0.0.1] [--workspace DIR]`: the live web UI over
/// the workspace's run history (SiraUI). Loopback only unless `--allow-remote`, which then needs
/// a token (`--token` or `SIRA_UI_TOKEN`).
struct UICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Serve a live web UI of the run history (runs, run pages, compare, watch, logs, JSON API).")

    @Option(help: "TCP port.") var port: Int = 8686
    @Option(help: "Address to bind; a non-loopback one needs --allow-remote and a token.") var host = "127.0.0.1"
    @Option(help: "The workspace whose data/runs.sqlite to serve (default: the current folder).") var workspace: String?
    @Flag(help: "Allow binding a non-loopback address (then a token is required).") var allowRemote = false
    @Option(help: "Token every request must carry (Authorization: Bearer … or ?token=); default $SIRA_UI_TOKEN.") var token: String?

    func run() async throws {
        guard (1...65535).contains(port) else { throw CLIFailure("--port \(port): expected 1...65535").exit() }
        let folder = URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath)
        do {
            let policy = try BindPolicy(host: host, allowRemote: allowRemote,
                                        token: token ?? ProcessInfo.processInfo.environment["SIRA_UI_TOKEN"])
            let server = UIServer(workspace: folder, port: port, policy: policy)
            let app = try server.application()
            // Unbuffered, so a supervisor (or a test) reading a pipe sees the line at once.
            FileHandle.standardOutput.write(Data("serving \(folder.path) on http://\(host.contains(":") ? "[\(host)]" : host):\(port)/  (Ctrl-C stops)\n".utf8))
            try await app.runService()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw CLIFailure("\(error)").exit()
        }
    }
}
