import Foundation
import Hummingbird
import SiraStore

/// `/runs/{id}`: stages (status, duration, cache key, log link), final metrics per task and
/// variant, parameters, curves and events. While the run is live the script polls
/// `/api/runs/{id}/live` every second and redraws, so a new metric shows within 2 s.
enum RunPage {
    static func render(_ d: RunDetail, points: [MetricPoint], now: Date) throws -> Response {
        let r = d.run
        var body = "<p>\(PageLayout.badge(r.status.rawValue, live: !r.status.isFinal)) <span id=\"status\">\(r.status.rawValue)</span> · pipeline <b>\(PageLayout.escape(r.pipeline))</b> · trigger \(PageLayout.escape(r.trigger)) · host \(PageLayout.escape(r.host)) · created \(Format.time(r.createdAt))"
        if let dur = r.duration(now: now) { body += " · \(String(format: "%.1f s", dur))" }
        body += " · <a href=\"/api/runs/\(r.id)\">json</a></p>"
        if let e = r.error { body += "<p class=\"pos\">error: \(PageLayout.escape(e))</p>" }
        body += "<h2>Stages</h2><table><tr><th>stage</th><th>kind</th><th>task</th><th>variant</th><th>attempt</th><th>status</th><th>duration</th><th>cache</th><th>log</th></tr>"
        for s in d.stages {
            let log: String
            if let p = s.logPath, let rel = logLink(p) {
                log = "<a href=\"/logs/\(rel)\">log</a>"
            } else { log = "" }
            body += "<tr><td>\(PageLayout.escape(s.stage))</td><td>\(PageLayout.escape(s.kind))</td><td>\(PageLayout.escape(s.task ?? ""))</td><td>\(PageLayout.escape(s.variant ?? ""))</td><td>\(s.attempt)</td>"
            body += "<td>\(PageLayout.badge(s.status.rawValue))</td><td>\(s.duration.map { String(format: "%.2f s", $0) } ?? "")</td>"
            body += "<td>\(s.status == .cached ? "hit" : (s.cacheKey.map { PageLayout.escape(String($0.prefix(12))) } ?? ""))</td><td>\(log)</td></tr>"
        }
        body += "</table><h2>Final metrics</h2>" + finalTable(d.finalMetrics)
        body += "<h2>Curves</h2><div id=\"curves\"></div>"
        body += "<h2>Parameters</h2><table><tr><th>key</th><th>value</th></tr>"
        for p in d.params where p.stageRunID == nil {
            body += "<tr><td>\(PageLayout.escape(p.key))</td><td>\(PageLayout.escape(p.value))</td></tr>"
        }
        body += "</table><h2>Events</h2><table>"
        for e in d.events.suffix(200) {
            body += "<tr><td>\(Format.time(e.time))</td><td>\(e.level.rawValue)</td><td>\(PageLayout.escape(e.message))</td></tr>"
        }
        body += "</table>"
        let script = """
        let siraPoints=\(try jsonForScript(points));
        const siraLabel=p=>[p.task,p.variant].filter(x=>x).join("/")||"run";
        siraCharts(document.getElementById("curves"),siraPoints,siraLabel);
        let siraLive=\(r.status.isFinal ? "false" : "true");
        async function siraPoll(){
          if(!siraLive) return;
          try{ const res=await fetch("/api/runs/\(r.id)/live?after="+siraPoints.length+location.search.replace(/^\\?/,"&"));
            if(res.ok){ const j=await res.json(); if(j.points.length){ siraPoints=siraPoints.concat(j.points);
                siraCharts(document.getElementById("curves"),siraPoints,siraLabel);
                document.body.dataset.metricCount=siraPoints.length; }
              document.getElementById("status").textContent=j.status;
              if(!["queued","running"].includes(j.status)){ siraLive=false; location.reload(); } } }catch(e){}
          setTimeout(siraPoll,1000);
        }
        document.body.dataset.metricCount=siraPoints.length; setTimeout(siraPoll,1000);
        """
        return PageLayout.page(title: "Run #\(r.id)", body: body, script: script)
    }

    /// `data/logs/<run>/<file>` → `<run>/<file>`; other paths get no link.
    static func logLink(_ path: String) -> String? {
        let parts = path.split(separator: "/")
        guard parts.count >= 2, let i = parts.lastIndex(of: "logs"), parts.count == i + 3 else { return nil }
        return "\(parts[i + 1])/\(parts[i + 2])"
    }

    static func finalTable(_ points: [MetricPoint]) -> String {
        var body = "<table><tr><th>task</th><th>variant</th><th>key</th><th>value</th><th>step</th></tr>"
        for m in points {
            body += "<tr><td>\(PageLayout.escape(m.task ?? ""))</td><td>\(PageLayout.escape(m.variant ?? ""))</td><td>\(PageLayout.escape(m.key))</td><td>\(Format.number(m.value))</td><td>\(m.step.map(String.init) ?? "")</td></tr>"
        }
        return body + "</table>"
    }

    /// JSON safe inside a `<script>` element (no `</script>` breakout).
    static func jsonForScript<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let s = String(decoding: try encoder.encode(value), as: UTF8.self)
        return s.replacingOccurrences(of: "<", with: "\\u003c")
    }
}
