import Foundation

/// The batch script of one Slurm job: a plain job runs one stage, an array job picks its stage
/// by `SLURM_ARRAY_TASK_ID`. Either way the job `exec`s
/// `sira-pipeline stage-exec --workspace DIR --run RUN --stage STAGE --attempt N`, so the stage
/// process itself receives Slurm's signals (SIGTERM on `scancel` or at the time limit).
///
/// Every word that comes from outside (paths, stage ids, which hold task and variant names) is
/// single-quoted by `ShellQuote`; the only expansions are the script's own variables.
struct SlurmJobScript {
    struct Element: Equatable {
        /// The array index (the task's number), nil for a plain job.
        var arrayIndex: Int?
        var stage: String
        var attempt: Int
        /// Where the job's stdout and stderr go.
        var output: String
    }

    /// The program and leading arguments that run `stage-exec` (the `sira-pipeline` binary).
    var command: [String]
    var workspace: String
    var runID: Int64
    /// A comment line naming the job (not interpreted).
    var title: String
    var elements: [Element]

    func render() throws -> String {
        precondition(!elements.isEmpty)
        var s = "#!/bin/sh\n"
        s += "# sira-pipeline run \(runID): \(title.filter { $0 != "\n" && $0 != "\r" })\n"
        s += "# Written by the Slurm executor; every value from outside is single-quoted.\n"
        if elements.count == 1, elements[0].arrayIndex == nil {
            let e = elements[0]
            s += "stage=\(try ShellQuote.quote(e.stage))\n"
            s += "attempt=\(e.attempt)\n"
            s += "out=\(try ShellQuote.quote(e.output))\n"
        } else {
            s += "case \"${SLURM_ARRAY_TASK_ID:-}\" in\n"
            for e in elements {
                guard let index = e.arrayIndex else { preconditionFailure("array element without index") }
                s += "  \(index)) stage=\(try ShellQuote.quote(e.stage)); attempt=\(e.attempt); out=\(try ShellQuote.quote(e.output)) ;;\n"
            }
            s += "  *) echo \"sira-pipeline: array index '${SLURM_ARRAY_TASK_ID:-}' is not part of this job\" >&2; exit 2 ;;\n"
            s += "esac\n"
        }
        s += "cd \(try ShellQuote.quote(workspace)) || exit 2\n"
        let program = try command.map(ShellQuote.quote).joined(separator: " ")
        s += "exec \(program) stage-exec --workspace \(try ShellQuote.quote(workspace)) --run \(runID)"
        s += " --stage \"$stage\" --attempt \"$attempt\" >>\"$out\" 2>&1\n"
        return s
    }
}
