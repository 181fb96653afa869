import Foundation

/// A job as `squeue` lists it (array elements one per line: `123_4`).
struct QueuedJob: Sendable, Equatable {
    var id: String
    var state: String
    var reason: String
    var comment: String
}

/// A job as `scontrol show job` describes it; finished jobs stay visible for `MinJobAge` seconds.
struct JobDetails: Sendable, Equatable {
    var state: String
    var reason: String
    var exitCode: String
}

/// The four Slurm commands the executor uses. Arguments go to the programs as an argument vector
/// (`Process`), never through a shell.
protocol SlurmControl: Sendable {
    /// `sbatch --parsable OPTIONS SCRIPT`; returns the job id.
    func submit(script: URL, options: [String]) throws -> String
    /// This user's live jobs (pending, running, completing, ...).
    func queue() throws -> [QueuedJob]
    /// nil when the controller no longer knows the job.
    func details(_ job: String) throws -> JobDetails?
    func cancel(_ jobs: [String]) throws
}

struct SlurmCommandError: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var stderr: String

    var description: String {
        let why = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(command) failed (exit \(status))" + (why.isEmpty ? "" : ": \(why)")
    }
}

/// Runs `sbatch`, `squeue`, `scontrol` and `scancel` from `PATH` (or `binFolder`).
struct SlurmCommands: SlurmControl {
    var binFolder: String?

    func submit(script: URL, options: [String]) throws -> String {
        // A busy controller answers "temporarily unable to accept"; try a few times.
        var lastError: Error?
        for attempt in 0 ..< 4 {
            if attempt > 0 { Thread.sleep(forTimeInterval: Double(attempt)) }
            do {
                let out = try run("sbatch", ["--parsable"] + options + [script.path])
                let id = out.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) } ?? ""
                guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
                    throw SlurmCommandError(command: "sbatch", status: 0, stderr: "unexpected answer '\(out)'")
                }
                return id
            } catch let e as SlurmCommandError where Self.isTransient(e.stderr) {
                lastError = e
            }
        }
        throw lastError!
    }

    static func isTransient(_ message: String) -> Bool {
        let m = message.lowercased()
        return m.contains("temporarily") || m.contains("timed out") || m.contains("try again") || m.contains("connection refused")
    }

    func queue() throws -> [QueuedJob] {
        let sep = "\u{1f}"
        let out = try run("squeue", ["--me", "--array", "--noheader", "--format=%i\(sep)%T\(sep)%r\(sep)%k"])
        return out.split(separator: "\n").compactMap { line in
            let f = line.components(separatedBy: sep)
            guard f.count >= 4 else { return nil }
            return QueuedJob(id: f[0].trimmingCharacters(in: .whitespaces), state: f[1], reason: f[2],
                             comment: f[3...].joined(separator: sep))
        }
    }

    func details(_ job: String) throws -> JobDetails? {
        let out: String
        do {
            out = try run("scontrol", ["show", "job", "--oneliner", job])
        } catch let e as SlurmCommandError where e.stderr.contains("Invalid job id") {
            return nil
        }
        var fields: [String: String] = [:]
        for word in out.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let eq = word.firstIndex(of: "=") else { continue }
            let key = String(word[..<eq])
            if fields[key] == nil { fields[key] = String(word[word.index(after: eq)...]) }
        }
        guard let state = fields["JobState"] else { return nil }
        return JobDetails(state: state, reason: fields["Reason"] ?? "", exitCode: fields["ExitCode"] ?? "")
    }

    func cancel(_ jobs: [String]) throws {
        guard !jobs.isEmpty else { return }
        do {
            _ = try run("scancel", jobs)
        } catch let e as SlurmCommandError where e.stderr.contains("Invalid job id") || e.stderr.contains("already completed") {
            // Jobs that ended meanwhile need no cancelling.
        }
    }

    private func run(_ program: String, _ arguments: [String]) throws -> String {
        let p = Process()
        if let binFolder {
            p.executableURL = URL(fileURLWithPath: binFolder).appendingPathComponent(program)
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [program] + arguments
        }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do {
            try p.run()
        } catch {
            throw SlurmCommandError(command: program, status: -1, stderr: "cannot start: \(error.localizedDescription)")
        }
        // Read both pipes to the end before waiting, so a chatty command cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        let stdout = String(decoding: outData, as: UTF8.self)
        let stderr = String(decoding: errData, as: UTF8.self)
        if p.terminationStatus == 127, stderr.contains("No such file") {
            throw SlurmCommandError(command: program, status: 127, stderr: "\(program) is not installed or not on PATH")
        }
        guard p.terminationStatus == 0 else {
            // The program and its last argument (the script, the job ids) name the call well enough.
            let shown = program == "squeue" ? program : "\(program) \(arguments.last.map { ($0 as NSString).lastPathComponent } ?? "")"
            throw SlurmCommandError(command: shown, status: p.terminationStatus, stderr: stderr)
        }
        return stdout
    }
}
