import Foundation
import Hummingbird
import SiraStore

/// `/`: the run list, newest first, with the same filters as `/api/runs`.
enum RunsPage {
    static func render(runs: [RunRecord], summaries: [RunID: StageSummary], pipelines: [String],
                       query: [String: String], now: Date) -> Response {
        var body = "<form class=\"filter\" method=\"get\">"
        body += "<select name=\"pipeline\"><option value=\"\">all pipelines</option>"
        for p in pipelines {
            body += "<option\(query["pipeline"] == p ? " selected" : "")>\(PageLayout.escape(p))</option>"
        }
        body += "</select><select name=\"status\"><option value=\"\">any status</option>"
        for s in RunStatus.allCases {
            body += "<option\(query["status"] == s.rawValue ? " selected" : "")>\(s.rawValue)</option>"
        }
        body += "</select><input name=\"trigger\" placeholder=\"trigger\" value=\"\(PageLayout.escape(query["trigger"] ?? ""))\">"
        body += "<input name=\"since\" placeholder=\"since YYYY-MM-DD\" value=\"\(PageLayout.escape(query["since"] ?? ""))\">"
        body += "<button>filter</button></form>"
        body += "<form method=\"get\" action=\"/compare\"><table><tr><th></th><th>run</th><th>pipeline</th><th>status</th><th>trigger</th><th>created</th><th>duration</th><th>stages</th></tr>"
        for r in runs {
            let dur = r.duration(now: now).map { String(format: "%.1f s", $0) } ?? ""
            let stages = summaries[r.id].map { s in s.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") } ?? ""
            body += "<tr><td><input type=\"checkbox\" name=\"run\" value=\"\(r.id)\"></td><td><a href=\"/runs/\(r.id)\">#\(r.id)</a></td>"
            body += "<td>\(PageLayout.escape(r.pipeline))</td><td>\(PageLayout.badge(r.status.rawValue, live: !r.status.isFinal))</td>"
            body += "<td>\(PageLayout.escape(r.trigger))</td><td>\(Format.time(r.createdAt))</td><td>\(dur)</td><td>\(PageLayout.escape(stages))</td></tr>"
        }
        body += "</table><button>compare selected</button></form>"
        if runs.isEmpty { body += "<p class=\"muted\">no runs match</p>" }
        return PageLayout.page(title: "Runs (\(runs.count))", body: body)
    }
}

enum Format {
    static func time(_ d: Date?) -> String {
        guard let d else { return "" }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate, .withSpaceBetweenDateAndTime]
        return f.string(from: d)
    }

    static func number(_ v: Double) -> String {
        v.isFinite ? String(format: "%.5g", v) : "\(v)"
    }
}
