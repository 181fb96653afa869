import ArgumentParser
import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// `sira-pipeline schedule [--next N]`: each pipeline's schedule, its last tick and its next fire
/// times (in the schedule's own zone, DST shifts visible in the zone abbreviation, and in UTC), and
/// whether a `watch` daemon is running to fire them.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "List each pipeline's schedule and its next fire times."
    )

    @Option(help: "How many upcoming fire times to list per pipeline.")
    var next: Int = 5

    @Option(help: "The workspace (default: the current folder).")
    var workspace: String?

    func validate() throws {
        guard next >= 1 else { throw ValidationError("--next must be at least 1") }
    }

    func run() throws {
        let ws = Workspace(root: URL(fileURLWithPath: workspace ?? FileManager.default.currentDirectoryPath))
        let set = ManifestSet(workspace: ws)
        let report = set.reload()
        for problem in report.problems {
            FileHandle.standardError.write(Data("\(problem.message)\n".utf8))
        }
        // Reading must not create a database in a workspace that never ran.
        let store = FileManager.default.fileExists(atPath: ws.databaseURL.path) ? try? RunStore(path: ws.databaseURL.path) : nil
        let now = Date()
        if set.all.isEmpty {
            print("no pipelines in \(ws.relative(set.folder))/")
        }
        for loaded in set.all {
            let m = loaded.manifest
            print("\(m.name)  (\(ws.relative(loaded.file)))")
            guard let spec = m.schedule else {
                print("  no schedule: runs when its inputs change under `watch`, or with `run`\n")
                continue
            }
            let s = try WatchDaemon.schedule(of: m, spec)
            let zone = s.schedule.timeZone
            print("  cron \"\(spec.cron)\" in \(zone.identifier), catch-up \(s.catchUp)")
            if let tick = try store?.lastTick(pipeline: m.name) {
                let at = Date(timeIntervalSince1970: TimeInterval(tick.tickTime))
                var what = "no run (skipped or start of the schedule)"
                if let run = tick.runID {
                    let status = (try? store?.run(run))??.status.rawValue ?? "deleted"
                    what = "run \(run), \(status)"
                }
                print("  last tick  \(ScheduleTimeFormat.local(at, in: zone))  (\(what))")
            } else {
                print("  last tick  none yet")
            }
            for (i, t) in s.schedule.fireTimes(after: now, count: next).enumerated() {
                print("  \(i == 0 ? "next      " : "          ") \(ScheduleTimeFormat.local(t, in: zone))  (\(ScheduleTimeFormat.iso(t)))")
            }
            print("")
        }
        print(daemonLine(ws, now: now))
        if !report.problems.isEmpty { throw ExitCode(1) }
    }

    private func daemonLine(_ ws: Workspace, now: Date) -> String {
        guard let status = DaemonStatus.read(ws) else {
            return "watch daemon: never started here; schedules fire only while `sira-pipeline watch` runs (or from cron / a systemd timer calling `run --all`)"
        }
        let age = Int(now.timeIntervalSince(status.beat))
        switch status.state {
        case .running, .stopping:
            let alive = status.host != RunStore.currentHost || RunStore.processIsAlive(status.pid)
            return alive
                ? "watch daemon: \(status.state.rawValue), pid \(status.pid) on \(status.host), last beat \(age) s ago"
                : "watch daemon: died without stopping (pid \(status.pid), last beat \(age) s ago); its runs show as crashed and resume at the next start"
        case .stopped:
            return "watch daemon: stopped \(age) s ago; schedules fire only while it runs"
        }
    }
}
