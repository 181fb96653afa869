import ArgumentParser
import Foundation
import SiraIO
import SiraPipeline
import SiraReport
import SiraStages
import SiraStore

/// `sira-pipeline report RUN [-o FILE.html] [--workspace DIR]`: one self-contained HTML page
/// about a run (verdict per task, comparison tables, loss curves, router load, stage timeline,
/// change against the previous run), read from `data/runs.sqlite` alone. `RUN` is a run id or
/// `latest`. Written atomically; `-o -` prints it.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML report of a run: comparison with winners, loss curves, expert load, timeline, change since the previous run.")

    @Argument(help: "The run id (see `sira-pipeline runs`), or `latest`.") var runID: String

    @Option(name: [.short, .customLong("output")], help: "The HTML file to write (default: report-<pipeline>-<run>.html in the current folder; - for stdout).")
    var output: String?

    @Option(help: "The workspace whose data/runs.sqlite to read (default: the current folder).")
    var workspace: String?

    func run() throws {
        try reportingFailures {
            var options = HistoryOptions()
            options.workspace = workspace
            let store = try options.requireStore()
            let id = try resolveRunID(runID, in: store)
            guard let data = try ReportData.load(store: store, run: id) else { throw CLIFailure("no run \(id) in \(store.path)") }
            let html = RunReport(data).html()
            if output == "-" {
                FileHandle.standardOutput.write(Data(html.utf8))
                return
            }
            let safePipeline = String(data.detail.run.pipeline.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
            let path = output ?? "report-\(safePipeline)-\(id).html"
            let url = URL(fileURLWithPath: path)
            do { try AtomicFile.write(html, to: url) } catch {
                throw CLIFailure("\(path): cannot write: \(error)")
            }
            print("wrote \(path) (\(formatBytes(Int64(html.utf8.count)))) for run \(id) of \(data.detail.run.pipeline)")
        }
    }
}
