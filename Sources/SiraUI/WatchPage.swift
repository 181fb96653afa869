import Foundation
import Hummingbird
import SiraStore

/// `/watch`: the daemon's heartbeat file `data/watch.json` as written (this module does not import
/// the pipeline's types, so the file is shown field by field), whether its beat is fresh, and the
/// last schedule tick fired per pipeline.
enum WatchPage {
    struct State: Encodable {
        var present: Bool
        var status: [String: JSONValue]?
        var beatAgeSeconds: Double?
        var nextTick: String?
        var lastTicks: [ScheduleTick]
    }

    static func state(workspace: URL, store: RunStore, now: Date) throws -> State {
        let url = workspace.appendingPathComponent("data/watch.json")
        var lastTicks: [ScheduleTick] = []
        for p in try store.pipelines() {
            if let t = try store.lastTick(pipeline: p) { lastTicks.append(t) }
        }
        guard let data = try? Data(contentsOf: url) else {
            return State(present: false, lastTicks: lastTicks)
        }
        let object = try? JSONDecoder().decode([String: JSONValue].self, from: data)
        var age: Double?
        if case let .string(beat)? = object?["beat"], let d = ISO8601DateFormatter().date(from: beat) {
            age = now.timeIntervalSince(d)
        } else if case let .number(beat)? = object?["beat"] {
            age = now.timeIntervalSince(Date(timeIntervalSinceReferenceDate: beat))
        }
        var next: String?
        if case let .string(s)? = object?["nextTick"] { next = s }
        return State(present: true, status: object, beatAgeSeconds: age, nextTick: next, lastTicks: lastTicks)
    }

    static func render(_ s: State) -> Response {
        var body = ""
        if let status = s.status {
            body += "<table>"
            for (k, v) in status.sorted(by: { $0.key < $1.key }) {
                body += "<tr><th>\(PageLayout.escape(k))</th><td>\(PageLayout.escape(describe(v)))</td></tr>"
            }
            body += "</table>"
            if let age = s.beatAgeSeconds { body += "<p>last beat \(String(format: "%.0f", age)) s ago\(age > 60 ? " — <b class=\"pos\">stale: the daemon may have died</b>" : "")</p>" }
        } else {
            body += "<p class=\"muted\">no data/watch.json: the watch daemon has not run in this workspace</p>"
        }
        body += "<h2>Schedules</h2><table><tr><th>pipeline</th><th>last tick</th><th>fired</th><th>run</th></tr>"
        for t in s.lastTicks {
            body += "<tr><td>\(PageLayout.escape(t.pipeline))</td><td>\(Format.time(Date(timeIntervalSince1970: Double(t.tickTime))))</td><td>\(Format.time(t.firedAt))</td><td>\(t.runID.map { "<a href=\"/runs/\($0)\">#\($0)</a>" } ?? "")</td></tr>"
        }
        body += "</table>"
        if let n = s.nextTick { body += "<p>next tick (from the daemon): \(PageLayout.escape(n))</p>" }
        return PageLayout.page(title: "Watch daemon", body: body, script: "setTimeout(()=>location.reload(),5000);")
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: return "—"
        case let .bool(b): return String(b)
        case let .number(n): return Format.number(n)
        case let .string(s): return s
        case let .array(a): return a.map(describe).joined(separator: ", ")
        case let .object(o): return o.sorted { $0.key < $1.key }.map { "\($0.key)=\(describe($0.value))" }.joined(separator: " ")
        }
    }
}
