import Foundation
import Hummingbird
import SiraStore

/// Every URL the server answers, pages and `/api/…` alike; each handler reads the store once.
struct Routes: Sendable {
    let store: RunStore
    let workspace: URL
    let logs: LogFiles

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { request, _ in
            let q = try RunsQuery(queryDictionary(request))
            let runs = try self.runs(q)
            return RunsPage.render(runs: runs, summaries: try store.stageSummaries(runs: runs.map(\.id)),
                                   pipelines: try store.pipelines(), query: queryDictionary(request), now: Date())
        }
        router.get("/runs/:id") { _, context in
            let d = try self.detail(try runID(context))
            return try RunPage.render(d, points: try store.metrics(run: d.run.id), now: Date())
        }
        router.get("/compare") { request, _ in
            let ids = try ComparePage.ids(request)
            let details = try ids.map(self.detail)
            return try ComparePage.render(details, points: try ids.flatMap { try store.metrics(run: $0) })
        }
        router.get("/watch") { _, _ in
            WatchPage.render(try WatchPage.state(workspace: workspace, store: store, now: Date()))
        }
        router.get("/logs/:run/:file") { request, context in
            try self.log(request, context, page: true)
        }
        // JSON.
        router.get("/api/runs") { request, _ in
            let runs = try self.runs(try RunsQuery(queryDictionary(request)))
            let sums = try store.stageSummaries(runs: runs.map(\.id))
            return try HistoryJSON.encode(runs.map { RunListItem(run: $0, stages: sums[$0.id]) })
        }
        router.get("/api/runs/:id") { _, context in
            let d = try self.detail(try runID(context))
            let keys = Set(try store.metrics(run: d.run.id).map(\.key)).sorted()
            return try HistoryJSON.encode(RunPayload(run: d.run, stages: d.stages, params: d.params, finalMetrics: d.finalMetrics,
                                                     metricKeys: keys, events: d.events))
        }
        router.get("/api/runs/:id/metrics/:key") { request, context in
            let id = try runID(context)
            _ = try self.detail(id)
            let key = context.parameters.get("key") ?? ""
            let task = request.uri.queryParameters.get("task"), variant = request.uri.queryParameters.get("variant")
            return try HistoryJSON.encode(try store.metricSeries(run: id, key: key, task: task, variant: variant))
        }
        router.get("/api/runs/:id/live") { request, context in
            let id = try runID(context)
            let raw = request.uri.queryParameters.get("after") ?? "0"
            guard let after = Int(raw), after >= 0 else {
                throw HTTPError(.badRequest, message: "after=\(raw): expected a non-negative integer")
            }
            guard let run = try store.run(id) else { throw HTTPError(.notFound, message: "no run #\(id)") }
            let points = try store.metrics(run: id)
            let stages = try store.detail(id)?.stages ?? []
            return try HistoryJSON.encode(LivePayload(status: run.status, metricCount: points.count,
                                                      points: Array(points.dropFirst(min(after, points.count))), stages: stages))
        }
        router.get("/api/watch") { _, _ in
            try HistoryJSON.encode(try WatchPage.state(workspace: workspace, store: store, now: Date()))
        }
        router.get("/api/logs/:run/:file") { request, context in
            try self.log(request, context, page: false)
        }
    }

    func runs(_ q: RunsQuery) throws -> [RunRecord] {
        guard let trigger = q.trigger else { return try store.runs(q.filter) }
        var f = q.filter
        f.limit = nil
        let matching = try store.runs(f).filter { $0.trigger == trigger }
        return q.filter.limit.map { Array(matching.prefix($0)) } ?? matching
    }

    func detail(_ id: RunID) throws -> RunDetail {
        guard let d = try store.detail(id) else { throw HTTPError(.notFound, message: "no run #\(id)") }
        return d
    }

    /// `/logs/<run>/<file>`: the tail as a page that keeps polling while the stage runs;
    /// `/api/logs/<run>/<file>?offset=N`: the bytes from N and the new end offset.
    func log(_ request: Request, _ context: BasicRequestContext, page: Bool) throws -> Response {
        let run = context.parameters.get("run") ?? "", file = context.parameters.get("file") ?? ""
        guard let url = logs.resolve(run: run, name: file) else {
            throw HTTPError(.badRequest, message: "not a stage log name: \(run)/\(file)")
        }
        guard FileManager.default.fileExists(atPath: url.path) else { throw HTTPError(.notFound, message: "no log \(run)/\(file)") }
        var offset: Int?
        if let raw = request.uri.queryParameters.get("offset") {
            guard let n = Int(raw), n >= 0 else { throw HTTPError(.badRequest, message: "offset=\(raw): expected a non-negative integer") }
            offset = n
        }
        let (text, end) = try logs.tail(url, from: offset)
        if !page {
            struct Chunk: Encodable { var text: String; var end: Int }
            return try HistoryJSON.encode(Chunk(text: text, end: end))
        }
        let script = """
        let siraEnd=\(end);
        async function siraLog(){ try{ const r=await fetch("/api/logs/\(run)/\(file)?offset="+siraEnd+location.search.replace(/^\\?/,"&"));
          if(r.ok){ const j=await r.json(); if(j.text){ const pre=document.getElementById("log"); pre.textContent+=j.text; pre.scrollTop=pre.scrollHeight; } siraEnd=j.end; } }catch(e){}
          setTimeout(siraLog,1000); }
        setTimeout(siraLog,1000);
        """
        return PageLayout.page(title: "Log \(run)/\(file)", body: "<p><a href=\"/runs/\(run)\">run #\(run)</a></p><pre id=\"log\">\(PageLayout.escape(text))</pre>", script: script)
    }
}
