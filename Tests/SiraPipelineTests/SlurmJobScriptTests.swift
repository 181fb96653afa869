import Foundation
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
import Testing

/// Job scripts are run by `/bin/sh` here, with a stand-in for `sira-pipeline` that prints its
/// arguments one per line: every hostile name must arrive as exactly one argument, byte for
/// byte, and nothing in it may execute.
struct SlurmJobScriptTests {
    static let hostile = [
        "plain",
        "two words",
        "it's",
        "$(touch PWNED)",
        "`touch PWNED`",
        "a\"b\\c",
        "semi;colon && rm -rf x | y > z",
        "new\nline",
        "$HOME ${IFS} * ? [a]",
        "'",
        "",
    ]

    /// Runs `script` with `sh` in `folder` (optionally as array element `index`); returns the
    /// stand-in's argument lines and the exit status.
    func execute(_ script: String, in folder: URL, index: Int?) throws -> (args: [String], status: Int32) {
        let url = folder.appendingPathComponent("job.sh")
        try script.write(to: url, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [url.path]
        p.currentDirectoryURL = folder
        var env = ["PATH": "/usr/bin:/bin"]
        if let index { env["SLURM_ARRAY_TASK_ID"] = String(index) }
        p.environment = env
        try p.run()
        p.waitUntilExit()
        let out = (try? String(contentsOf: folder.appendingPathComponent("args.out"), encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("args.out"))
        // The stand-in writes each argument followed by a NUL byte.
        var args = out.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        if args.last == "" { args.removeLast() }
        return (args, p.terminationStatus)
    }

    /// A folder whose own name is hostile, with a stand-in program in it.
    func makeFolder() throws -> (URL, String) {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("sira job 'q' $(touch PWNED) %j-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let standIn = folder.appendingPathComponent("stand in's $(x)")
        try "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > args.out\n".write(to: standIn, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: standIn.path)
        return (folder, standIn.path)
    }

    @Test func plainJobPassesHostileNamesAsSingleArguments() throws {
        let (folder, standIn) = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in Self.hostile where !name.isEmpty {
            let stage = "train@\(name):sira"
            let out = folder.appendingPathComponent("out \(name.count).txt").path
            let script = SlurmJobScript(command: [standIn], workspace: folder.path, runID: 7, title: "title $(touch PWNED)\n",
                                        elements: [.init(arrayIndex: nil, stage: stage, attempt: 2, output: out)])
            let (args, status) = try execute(try script.render(), in: folder, index: nil)
            #expect(status == 0)
            #expect(args == ["stage-exec", "--workspace", folder.path, "--run", "7", "--stage", stage, "--attempt", "2"])
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(!left.contains("PWNED"))
    }

    @Test func arrayJobPicksItsStageByIndex() throws {
        let (folder, standIn) = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = Self.hostile
        let elements = names.enumerated().map { i, n in
            SlurmJobScript.Element(arrayIndex: i * 3 + 1, stage: "evaluate@\(n):lora", attempt: i + 1,
                                   output: folder.appendingPathComponent("o\(i).out").path)
        }
        let script = try SlurmJobScript(command: [standIn, "--extra arg"], workspace: folder.path, runID: 12, title: "evaluate:lora",
                                        elements: elements).render()
        for (i, e) in elements.enumerated() {
            let (args, status) = try execute(script, in: folder, index: e.arrayIndex)
            #expect(status == 0)
            #expect(args == ["--extra arg", "stage-exec", "--workspace", folder.path, "--run", "12", "--stage", "evaluate@\(names[i]):lora",
                             "--attempt", String(i + 1)])
        }
        // an index that is not part of the job runs nothing and fails
        let (args, status) = try execute(script, in: folder, index: 2)
        #expect(status == 2 && args.isEmpty)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(!left.contains("PWNED"))
    }

    @Test func quotingRefusesNulAndRoundTripsEverythingElse() throws {
        #expect(throws: ShellQuoteError.self) { try ShellQuote.quote("a\0b") }
        #expect(try ShellQuote.quote("it's") == "'it'\\''s'")
        #expect(try ShellQuote.quote("") == "''")
    }

    @Test func jobNamesKeepOnlySafeCharacters() {
        #expect(SlurmExecutor.safeName("sira-3-train@it's $(x):lora") == "sira-3-train@it_s___x_:lora")
        #expect(SlurmExecutor.safeName(String(repeating: "a", count: 200)).count == 80)
    }
}
