#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// The live view of a run. On a terminal it keeps a block at the bottom that is redrawn in place
/// (stages done, each running stage with its step, loss, tokens/s and ETA) with finished stages
/// scrolling above it; elsewhere (CI, cron, a pipe) it writes plain timestamped lines, with
/// progress at most every 10% or 30 s per stage, so logs stay readable.
final class ProgressDisplay: PipelineObserver, @unchecked Sendable {
    enum Mode: Equatable {
        case terminal(width: Int)
        case plain
    }

    private struct Live {
        var started: Date
        var attempt: Int
        var progress: StageProgress?
        var firstProgress: (Date, Int)?
        var lastPrinted: (Date, Int)?
    }

    let mode: Mode
    private let lock = NSLock()
    private var pipeline = ""
    private var runID: Int64 = 0
    private var total = 0
    private var done = 0
    private var cached = 0
    private var failed = 0
    private var started = Date()
    private var running: [StageID: Live] = [:]
    private var liveLines = 0
    private var timer: DispatchSourceTimer?
    private let queue = DispatchQueue(label: "sira-pipeline.progress")

    init(mode: Mode) {
        self.mode = mode
    }

    static func forStandardOutput(plain: Bool) -> ProgressDisplay {
        if plain || isatty(STDOUT_FILENO) == 0 { return ProgressDisplay(mode: .plain) }
        var size = winsize()
        let width = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 20 ? Int(size.ws_col) : 100
        return ProgressDisplay(mode: .terminal(width: width))
    }

    func handle(_ event: PipelineEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case let .runStarted(runID, pipeline, stages):
            self.runID = runID
            self.pipeline = pipeline
            total = stages.count
            started = Date()
            emit("run \(runID) of \(pipeline): \(stages.count) stages")
            startTimer()
        case let .stageStarted(id, attempt):
            running[id] = Live(started: Date(), attempt: attempt)
            if mode == .plain { emit("\(id) started\(attempt > 1 ? " (attempt \(attempt))" : "")") }
        case let .progress(p):
            guard var live = running[p.stage] else { return }
            if live.firstProgress == nil { live.firstProgress = (Date(), p.step) }
            live.progress = p
            if mode == .plain, shouldPrint(&live, p) { emit("\(p.stage) \(Self.progressText(p, eta: eta(live)))") }
            running[p.stage] = live
        case let .stageFinished(id, status, _, seconds, error):
            let ran = running.removeValue(forKey: id) != nil
            done += 1
            if status == .cached { cached += 1 }
            if status == .failed { failed += 1 }
            if mode == .plain || status != .cached {
                var line = "\(Self.symbol(status)) \(id) \(status.rawValue)"
                if ran, status != .cached { line += " in \(Self.duration(seconds))" }
                if let error, status != .succeeded { line += ": \(error)" }
                emit(line)
            }
        case let .stageRetrying(id, attempt, delay, error):
            running[id] = nil
            emit("↻ \(id) failed: \(error); attempt \(attempt) in \(Self.duration(delay))")
        case let .notice(text):
            emit(text)
        case .runFinished:
            stopTimer()
            clearLive()
        }
        if case .terminal = mode {
            // Progress arrives every training step; the timer redraws those at 4 Hz.
            if case .progress = event { return }
            redraw()
        }
    }

    // MARK: plain lines

    private func shouldPrint(_ live: inout Live, _ p: StageProgress) -> Bool {
        let now = Date()
        let tenth = max(1, p.total / 10)
        if let (t, step) = live.lastPrinted, p.step - step < tenth, now.timeIntervalSince(t) < 30, p.step < p.total {
            return false
        }
        live.lastPrinted = (now, p.step)
        return true
    }

    /// A permanent line: timestamped in plain mode; above the live block on a terminal.
    private func emit(_ text: String) {
        switch mode {
        case .plain:
            write("\(Self.clock(Date())) \(text)\n")
        case .terminal:
            clearLive()
            write(text + "\n")
        }
    }

    // MARK: terminal block

    private func startTimer() {
        guard case .terminal = mode, timer == nil else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + 0.25, repeating: 0.25)
        t.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.lock()
            self.redraw()
            self.lock.unlock()
        }
        t.resume()
        timer = t
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }

    private func clearLive() {
        guard liveLines > 0 else { return }
        write("\u{1B}[\(liveLines)F\u{1B}[J")
        liveLines = 0
    }

    private func redraw() {
        guard case let .terminal(width) = mode, total > 0, timer != nil else { return }
        var lines: [String] = []
        var head = "\(pipeline) · run \(runID) · \(done)/\(total) stages"
        if cached > 0 { head += " (\(cached) cached)" }
        if failed > 0 { head += " · \(failed) failed" }
        head += " · \(Self.duration(Date().timeIntervalSince(started)))"
        lines.append("\u{1B}[1m" + head + "\u{1B}[0m")
        for id in running.keys.sorted() {
            let live = running[id]!
            var line = "  ▸ " + id.description.padding(toLength: max(24, id.description.count), withPad: " ", startingAt: 0)
            if let p = live.progress {
                line += " " + Self.bar(p.step, p.total, width: 16) + " " + Self.progressText(p, eta: eta(live))
            } else {
                line += " " + Self.duration(Date().timeIntervalSince(live.started))
            }
            lines.append(String(line.prefix(width - 1)))
        }
        clearLive()
        write(lines.joined(separator: "\n") + "\n")
        liveLines = lines.count
    }

    private func eta(_ live: Live) -> Double? {
        guard let p = live.progress, let (t0, s0) = live.firstProgress, p.step > s0, p.total > p.step else { return nil }
        return Date().timeIntervalSince(t0) / Double(p.step - s0) * Double(p.total - p.step)
    }

    // MARK: formatting

    static func progressText(_ p: StageProgress, eta: Double?) -> String {
        var parts = ["\(p.step)/\(p.total)"]
        if let loss = p.loss { parts.append(String(format: "loss %.3f", loss)) }
        if let tps = p.tokensPerSecond { parts.append(rate(tps) + " tok/s") }
        if let eta { parts.append("ETA " + duration(eta)) }
        if let note = p.note { parts.append(note) }
        return parts.joined(separator: "  ")
    }

    static func bar(_ step: Int, _ total: Int, width: Int) -> String {
        let filled = total > 0 ? min(width, width * step / total) : 0
        return "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "]"
    }

    static func rate(_ x: Double) -> String {
        x >= 1e6 ? String(format: "%.1fM", x / 1e6) : x >= 1e3 ? String(format: "%.1fk", x / 1e3) : String(format: "%.0f", x)
    }

    static func duration(_ s: Double) -> String {
        if s < 10 { return String(format: "%.2fs", s) }
        if s < 60 { return String(format: "%.0fs", s) }
        let m = Int(s) / 60
        if m < 60 { return String(format: "%d:%02d", m, Int(s) % 60) }
        return String(format: "%d:%02d:%02d", m / 60, m % 60, Int(s) % 60)
    }

    static func symbol(_ s: StageStatus) -> String {
        switch s {
        case .succeeded: return "✓"
        case .cached: return "="
        case .failed, .crashed: return "✗"
        case .skipped: return "-"
        case .cancelled: return "■"
        case .queued, .running: return "·"
        }
    }

    static func clock(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        return f.string(from: d)
    }

    private func write(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }
}
