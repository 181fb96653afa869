import Foundation
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

/// Helpers for the tests that drive the built `sira-pipeline` binary and check what it did
/// against the database (read back through `RunStore`) and the files on disk.
extension TinyPipeline {
    /// A small variant of the tiny manifest: one adapter variant, 4 training steps (under a second
    /// per run in a debug build).
    static func small() throws -> TinyPipeline {
        try TinyPipeline(trainSteps: 4, saveEvery: 2, jobs: 2, variants: "lora: {r: 2}")
    }

    /// Runs a subcommand to its end.
    func command(_ arguments: [String]) throws -> ChildProcess.Result {
        try cli(arguments).wait(timeout: 120)
    }

    func store() throws -> RunStore { try RunStore(path: workspace.databaseURL.path) }

    /// Rewrites the `add` task's data; `offset` changes every completion (so the task's stages rerun).
    func writeAdd(offset: Int) throws {
        var text = ""
        for i in 0 ..< 30 { text += "{\"prompt\": \"\(i)+\(i % 7)=\", \"completion\": \"\(i + i % 7 + offset)\"}\n" }
        try tw.write(text, to: "data/src/add.jsonl")
    }

    /// Every `data/cache/<kind>/<entry>` present, as `<kind>/<entry>`.
    func cacheEntries() -> Set<String> {
        let fm = FileManager.default
        var out: Set<String> = []
        for kind in (try? fm.contentsOfDirectory(atPath: workspace.cacheFolder.path)) ?? [] {
            for entry in (try? fm.contentsOfDirectory(atPath: workspace.cacheFolder.appendingPathComponent(kind).path)) ?? [] {
                out.insert("\(kind)/\(entry)")
            }
        }
        return out
    }

    /// `<kind>/<cache key>` of every stage attempt of `run` that has a key.
    func cacheReferences(_ store: RunStore, run: RunID) throws -> Set<String> {
        Set(try store.stages(run: run).compactMap { s in s.cacheKey.map { "\(s.kind)/\($0)" } })
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path) }
}

/// Runs a system tool (`tar`, `zstd`, `sha256sum`, `find`) found on PATH.
func systemTool(_ arguments: [String], in folder: URL) throws -> ChildProcess.Result {
    try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), arguments, in: folder).wait(timeout: 60)
}

/// Decodes a command's `--json` output.
/// A command's JSON output; when it is not JSON, the error says what the command printed and
/// how it exited, so a failure names its cause.
func decodeJSON(_ result: ChildProcess.Result) throws -> Any {
    do {
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    } catch {
        struct NotJSON: Error, CustomStringConvertible { var description: String }
        throw NotJSON(description: "not JSON (\(error.localizedDescription)); exit \(result.status); stdout \(result.stdout.utf8.count) bytes: \(result.stdout.prefix(400)); stderr: \(result.stderr.prefix(2000))")
    }
}

/// The rows of a rendered `TextTable` whose first cell is `first`, split into cells.
func tableRow(_ output: String, first: String) -> [String]? {
    for line in output.split(separator: "\n") {
        let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if cells.first == first { return cells }
    }
    return nil
}
