import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// Options shared by the run-history commands (`runs`, `show`, `compare`, `metrics`, `gc`).
struct HistoryOptions: ParsableArguments {
    @Option(help: "The workspace whose data/runs.sqlite to read (default: the current folder).")
    var workspace: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    var workspaceURL: URL {
        URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath).standardizedFileURL
    }

    /// The workspace's store, or nil when it has no database yet (nothing was ever run there).
    /// Runs whose process is gone on this machine are marked crashed first, so nothing dead
    /// shows as running.
    func openStore() throws -> RunStore? {
        let url = RunStore.databaseURL(workspace: workspaceURL)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let store = try RunStore(path: url.path)
        _ = try? store.markCrashedRuns(staleAfter: .infinity)
        return store
    }

    /// `openStore`, failing with a clear message when there is no database.
    func requireStore() throws -> RunStore {
        guard let store = try openStore() else {
            throw CLIFailure("no run database at \(RunStore.databaseURL(workspace: workspaceURL).path) (nothing has run in this workspace)")
        }
        return store
    }
}

/// `--pipeline`, for the commands that select runs (`runs`, `gc`).
struct PipelineOption: ParsableArguments {
    @Option(help: "Only runs of this pipeline.")
    var pipeline: String?
}

extension RunStore {
    /// Run `id`, or a failure naming the database (`no run 7 in .../runs.sqlite`).
    func requireRun(_ id: RunID) throws -> RunRecord {
        guard let run = try run(id) else { throw CLIFailure("no run \(id) in \(path)") }
        return run
    }

    /// Everything recorded about run `id`, or the same failure as `requireRun`.
    func requireDetail(_ id: RunID) throws -> RunDetail {
        guard let detail = try detail(id) else { throw CLIFailure("no run \(id) in \(path)") }
        return detail
    }
}

/// An option value parsed by `parse`; its error becomes `--flag: why`.
func parseOption<T>(_ flag: String, _ parse: () throws -> T) throws -> T {
    do { return try parse() } catch { throw CLIFailure("\(flag): \(error)") }
}

/// A message for stderr and exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

extension CLIFailure {
    /// Prints `error: message` to stderr and returns the exit code to throw.
    func exit() -> ExitCode {
        FileHandle.standardError.write(Data("error: \(description)\n".utf8))
        return ExitCode(1)
    }
}

/// Runs `body`, turning `CLIFailure`, `PackageError` and store errors into `error: ...` on stderr
/// and exit status 1 (ArgumentParser would otherwise print them with usage text).
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let failure as CLIFailure {
        throw failure.exit()
    } catch let error as PackageError {
        throw CLIFailure(error.description).exit()
    } catch let error as ExitCode {
        throw error
    } catch {
        throw CLIFailure("\(error)").exit()
    }
}

/// JSON for `--json`: sorted keys, ISO 8601 dates, non-finite numbers as strings.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A run argument: `12`, `#12`, or `latest` (the newest run in `store`).
func resolveRunID(_ text: String, in store: RunStore) throws -> RunID {
    if text == "latest" {
        guard let newest = try store.runs(RunFilter(limit: 1)).first else { throw CLIFailure("\(store.path) has no runs") }
        return newest.id
    }
    guard let id = RunID(text.hasPrefix("#") ? String(text.dropFirst()) : text), id > 0 else {
        throw CLIFailure("'\(text)' is not a run id (a positive number as listed by `sira-pipeline runs`, or latest)")
    }
    return id
}

/// A metric value for tables: up to 4 significant decimals, `nan`/`inf` spelled out (the same
/// form as the evaluation comparison tables).
func formatValue(_ v: Double) -> String { MetricFormat.number(v) }

/// `512 B`, `3.4 kB`, `12.0 MB`, `1.2 GB` (powers of 1000, as MB/s figures are).
func formatBytes(_ bytes: Int64) -> String {
    let b = Double(bytes)
    if b < 1000 { return "\(bytes) B" }
    for (unit, scale) in [("kB", 1e3), ("MB", 1e6), ("GB", 1e9)] where b < scale * 1000 {
        return String(format: "%.1f", b / scale) + " " + unit
    }
    return String(format: "%.1f TB", b / 1e12)
}
