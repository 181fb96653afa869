import Foundation
import Hummingbird
import SiraStore

/// `/compare?run=1&run=2` (or `?runs=1,2`): parameters that differ, final metrics side by side
/// with the delta against the first run, and all curves overlaid (a line per run/task/variant).
enum ComparePage {
    static func render(_ details: [RunDetail], points: [MetricPoint]) throws -> Response {
        let ids = details.map(\.run.id)
        var body = "<p>" + details.map { "<a href=\"/runs/\($0.run.id)\">#\($0.run.id)</a> \(PageLayout.escape($0.run.pipeline)) \(PageLayout.badge($0.run.status.rawValue, live: !$0.run.status.isFinal))" }.joined(separator: " · ") + "</p>"
        // Parameters (run level) that are not the same in every run.
        let maps = details.map { d in Dictionary(d.params.filter { $0.stageRunID == nil }.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b }) }
        let keys = Set(maps.flatMap(\.keys)).sorted()
        body += "<h2>Parameters that changed</h2><table><tr><th>key</th>" + ids.map { "<th>#\($0)</th>" }.joined() + "</tr>"
        var changed = 0
        for k in keys where Set(maps.map { $0[k] ?? "∅" }).count > 1 {
            changed += 1
            body += "<tr><td>\(PageLayout.escape(k))</td>" + maps.map { "<td>\(PageLayout.escape($0[k] ?? "—"))</td>" }.joined() + "</tr>"
        }
        body += "</table>" + (changed == 0 ? "<p class=\"muted\">all parameters equal</p>" : "")
        // Final metrics keyed by task/variant/key.
        func label(_ m: MetricPoint) -> String { [m.task, m.variant, m.key].compactMap { $0 }.joined(separator: " / ") }
        let finals = details.map { d in Dictionary(d.finalMetrics.map { (label($0), $0.value) }, uniquingKeysWith: { _, b in b }) }
        body += "<h2>Metrics</h2><table><tr><th>metric</th>" + ids.map { "<th>#\($0)</th>" }.joined() + ids.dropFirst().map { "<th>Δ #\($0)</th>" }.joined() + "</tr>"
        for k in Set(finals.flatMap(\.keys)).sorted() {
            body += "<tr><td>\(PageLayout.escape(k))</td>" + finals.map { "<td>\($0[k].map(Format.number) ?? "—")</td>" }.joined()
            for f in finals.dropFirst() {
                if let a = finals[0][k], let b = f[k] {
                    let d = b - a
                    body += "<td class=\"\(d > 0 ? "pos" : d < 0 ? "neg" : "")\">\(d >= 0 ? "+" : "")\(Format.number(d))</td>"
                } else { body += "<td>—</td>" }
            }
            body += "</tr>"
        }
        body += "</table><h2>Curves</h2><div id=\"curves\"></div>"
        let script = """
        siraCharts(document.getElementById("curves"),\(try RunPage.jsonForScript(points)),p=>["#"+p.runID,p.task,p.variant].filter(x=>x).join("/"));
        """
        return PageLayout.page(title: "Compare " + ids.map { "#\($0)" }.joined(separator: " "), body: body, script: script)
    }

    /// Run ids from `run=` (repeated) or `runs=1,2,3`; at least two, all integers, else 400.
    static func ids(_ request: Request) throws -> [RunID] {
        var raw: [String] = []
        for (k, v) in request.uri.queryParameters {
            if k == "run" { raw.append(String(v)) }
            else if k == "runs" { raw += v.split(separator: ",").map(String.init) }
            else if k != "token" { throw HTTPError(.badRequest, message: "unknown query parameter '\(k)'") }
        }
        let ids = try raw.map { s -> RunID in
            guard let id = RunID(s), id > 0 else { throw HTTPError(.badRequest, message: "'\(s)': a run id is a positive integer") }
            return id
        }
        guard Set(ids).count >= 2 else { throw HTTPError(.badRequest, message: "compare needs two or more distinct runs (?run=1&run=2)") }
        guard ids.count <= 20 else { throw HTTPError(.badRequest, message: "compare takes at most 20 runs") }
        var seen = Set<RunID>()
        return ids.filter { seen.insert($0).inserted }
    }
}
