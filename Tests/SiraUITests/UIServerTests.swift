import Foundation
import SiraStore
import SiraUI
import Testing

/// The server over a database filled through `RunStore`, spoken to over a raw loopback socket;
/// every expectation is read back from the same store the server reads.
@Suite(.serialized) struct UIServerTests {
    @Test func runsListFiltersAndIsNewestFirst() async throws {
        let f = try UIFixture()
        let t0 = Date(timeIntervalSince1970: 1_780_000_000)
        let a = try f.addRun(pipeline: "alpha", trigger: "manual", status: .succeeded, now: t0)
        let b = try f.addRun(pipeline: "beta", trigger: "schedule", status: .failed, now: t0.addingTimeInterval(86400))
        let c = try f.addRun(pipeline: "alpha", trigger: "schedule", status: .crashed, now: t0.addingTimeInterval(2 * 86400))
        try await f.start()

        func ids(_ path: String) throws -> [Int64] {
            let r = try f.client.get(path)
            #expect(r.status == 200, "\(path): \(r.status) \(r.body.prefix(300))")
            let list = try #require(r.json as? [[String: Any]])
            return list.compactMap { ($0["run"] as? [String: Any])?["id"] as? Int64 }
        }
        #expect(try ids("/api/runs") == (try f.writer.runs().map(\.id)))
        #expect(try ids("/api/runs") == [c, b, a])
        #expect(try ids("/api/runs?pipeline=alpha") == [c, a])
        #expect(try ids("/api/runs?status=crashed") == [c])
        #expect(try ids("/api/runs?trigger=schedule") == [c, b])
        #expect(try ids("/api/runs?trigger=schedule&limit=1") == [c])
        let sinceDay = ISO8601DateFormatter().string(from: t0.addingTimeInterval(86400)).prefix(10)
        #expect(try ids("/api/runs?since=\(sinceDay)") == [c, b])

        let page = try f.client.get("/?pipeline=alpha")
        #expect(page.status == 200)
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(page.body.contains("href=\"/runs/\(c)\"") && page.body.contains("href=\"/runs/\(a)\""))
        #expect(!page.body.contains("href=\"/runs/\(b)\""))
        #expect(page.body.contains("class=\"badge crashed\""))
        #expect(!page.body.contains("http://") && !page.body.contains("https://"), "no external assets")

        for bad in ["/api/runs?status=exploded", "/api/runs?since=yesterday", "/api/runs?limit=-3", "/api/runs?limit=x", "/api/runs?colour=red", "/?status=nope"] {
            let r = try f.client.get(bad)
            #expect(r.status == 400, "\(bad): \(r.status)")
        }
    }

    @Test func runDetailMetricsAndCompareMatchTheStore() async throws {
        let f = try UIFixture()
        let a = try f.addRun(lr: "0.001", losses: [2.0, 1.5, 1.2])
        let b = try f.addRun(lr: "0.01", losses: [2.1, 1.1, 0.9])
        try await f.start()

        let detail = try f.client.get("/api/runs/\(a)")
        #expect(detail.status == 200)
        let json = try #require(detail.json as? [String: Any])
        let stored = try #require(try f.writer.detail(a))
        #expect((json["stages"] as? [[String: Any]])?.count == stored.stages.count)
        #expect((json["finalMetrics"] as? [[String: Any]])?.count == stored.finalMetrics.count)
        #expect(json["metricKeys"] as? [String] == Set(try f.writer.metrics(run: a).map(\.key)).sorted())

        let series = try f.client.get("/api/runs/\(a)/metrics/train.loss")
        let values = (series.json as? [[String: Any]])?.compactMap { $0["value"] as? Double }
        #expect(values == (try f.writer.metricSeries(run: a, key: "train.loss").map(\.value)))
        let none = try f.client.get("/api/runs/\(a)/metrics/no.such.key")
        #expect(none.status == 200 && (none.json as? [Any])?.isEmpty == true)

        let page = try f.client.get("/runs/\(a)")
        #expect(page.status == 200)
        #expect(page.body.contains("train.add.lora") && page.body.contains("/logs/\(a)/train.add.lora.1.log"))
        #expect(page.body.contains("id=\"curves\""))

        let log = try f.client.get("/logs/\(a)/train.add.lora.1.log")
        #expect(log.status == 200 && log.body.contains("train line 2"))
        let chunk = try f.client.get("/api/logs/\(a)/train.add.lora.1.log?offset=13")
        #expect((chunk.json as? [String: Any])?["text"] as? String == "train line 2\n")

        let compare = try f.client.get("/compare?run=\(a)&run=\(b)")
        #expect(compare.status == 200, "\(compare.body.prefix(300))")
        #expect(compare.body.contains("<td>train.lr</td><td>0.001</td><td>0.01</td>"))
        #expect(!compare.body.contains("<td>train.steps</td>"), "equal parameters are not listed as changed")
        // Final loss 1.2 vs 0.9: delta -0.3 formatted like the page formats numbers.
        #expect(compare.body.contains(String(format: "%.5g", 0.9 - 1.2)))
        #expect(try f.client.get("/compare?run=\(a)").status == 400)
        #expect(try f.client.get("/compare?run=\(a)&run=x").status == 400)
        #expect(try f.client.get("/compare?run=\(a)&run=999999").status == 404)
    }

    @Test func unknownIdsTraversalAndBadInputAre4xx() async throws {
        let f = try UIFixture()
        let a = try f.addRun()
        // A file outside data/logs that a traversal would reach.
        try "SECRET".write(to: f.root.appendingPathComponent("data/secret.log"), atomically: true, encoding: .utf8)
        try await f.start()
        for path in ["/api/runs/999999", "/runs/424242", "/api/runs/999999/metrics/train.loss", "/api/runs/999999/live"] {
            #expect(try f.client.get(path).status == 404, "\(path)")
        }
        for path in ["/api/runs/abc", "/runs/-1", "/api/runs/1.5", "/api/runs/\(a)/live?after=-2", "/api/runs/\(a)/live?after=z",
                     "/logs/\(a)/train.add.lora.1.log?offset=-1"] {
            #expect(try f.client.get(path).status == 400, "\(path)")
        }
        let attacks = ["/logs/../../etc/passwd", "/logs/..%2f..%2fetc%2fpasswd", "/logs/%2e%2e/%2e%2e/etc/passwd",
                       "/logs/\(a)/..%2F..%2Fsecret.log", "/logs/\(a)/%2E%2E%2Fsecret.log", "/logs/..%5c..%5csecret.log",
                       "/logs/\(a)/../../secret.log", "/logs/%252e%252e/secret.log", "/api/logs/\(a)/..%2f..%2fsecret.log",
                       "/logs/\(a)/.hidden.log", "/logs/x/train.log", "/logs/\(a)/train.add.lora.1.log%00.txt", "/logs/\(a)/notalog.txt"]
        for path in attacks {
            let r = try f.client.get(path)
            #expect((400 ..< 500).contains(r.status), "\(path): \(r.status)")
            #expect(!r.body.contains("SECRET") && !r.body.contains("root:"), "\(path) leaked a file")
        }
        // A symlink inside data/logs pointing out is refused too.
        try FileManager.default.createSymbolicLink(atPath: f.root.appendingPathComponent("data/logs/\(a)/link.log").path,
                                                   withDestinationPath: f.root.appendingPathComponent("data/secret.log").path)
        let link = try f.client.get("/logs/\(a)/link.log")
        #expect((400 ..< 500).contains(link.status) && !link.body.contains("SECRET"))
    }

    @Test func aNewMetricOfALiveRunAppearsInThePollResponse() async throws {
        let f = try UIFixture()
        let id = try f.addRun(status: .running, losses: [3.0])
        try await f.start()
        let page = try f.client.get("/runs/\(id)")
        #expect(page.body.contains("let siraLive=true"), "a running run's page polls")
        let before = try #require(try f.client.get("/api/runs/\(id)/live?after=0").json as? [String: Any])
        let count = try #require(before["metricCount"] as? Int)
        #expect(count == (try f.writer.metrics(run: id).count))
        #expect(before["status"] as? String == "running")

        // The scheduler's writer appends a point while the server runs.
        let appended = Date()
        try f.writer.recordMetrics([MetricPoint(runID: id, task: "add", variant: "lora", key: "train.loss", value: 0.123, step: 2)])
        let seen = RawHTTP.eventually(timeout: 15) { () -> [String: Any]? in
            guard let j = try? f.client.get("/api/runs/\(id)/live?after=\(count)").json as? [String: Any],
                  let points = j["points"] as? [[String: Any]], !points.isEmpty else { return nil }
            return points[0]
        }
        let point = try #require(seen, "the new metric never appeared")
        #expect(point["value"] as? Double == 0.123 && point["step"] as? Int == 2)
        #expect(Date().timeIntervalSince(appended) < 2, "visible within the 2 s bound")
    }

    @Test func aTokenServerRefusesRequestsWithoutIt() async throws {
        let f = try UIFixture()
        try f.addRun()
        try await f.start(token: "s3cret")
        #expect(try f.client.get("/api/runs").status == 401)
        #expect(try f.client.get("/api/runs", headers: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(try f.client.get("/api/runs", headers: ["Authorization": "Bearer s3cret"]).status == 200)
        #expect(try f.client.get("/api/runs?token=s3cret").status == 200)
    }

    @Test func bindPolicyKeepsRemoteAddressesBehindAFlagAndAToken() async throws {
        #expect(throws: BindPolicy.Failure.remoteNotAllowed("0.0.0.0")) { try BindPolicy(host: "0.0.0.0", allowRemote: false, token: "t") }
        #expect(throws: BindPolicy.Failure.tokenRequired("192.168.1.5")) { try BindPolicy(host: "192.168.1.5", allowRemote: true, token: nil) }
        #expect(throws: BindPolicy.Failure.tokenRequired("10.0.0.1")) { try BindPolicy(host: "10.0.0.1", allowRemote: true, token: "") }
        #expect(try BindPolicy(host: "10.0.0.1", allowRemote: true, token: "t").token == "t")
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "::1"] { #expect(BindPolicy.isLoopback(host), "\(host)") }
        for host in ["0.0.0.0", "128.0.0.1", "127.0.0", "localhost.evil.com", "::"] { #expect(!BindPolicy.isLoopback(host), "\(host)") }
    }

    @Test func watchStateComesFromWatchJson() async throws {
        let f = try UIFixture()
        try f.addRun()
        try await f.start()
        let empty = try #require(try f.client.get("/api/watch").json as? [String: Any])
        #expect(empty["present"] as? Bool == false)
        let beat = ISO8601DateFormatter().string(from: Date())
        try """
        {"pid": 4242, "host": "h", "state": "running", "mode": "inotify", "startedAt": "\(beat)", "beat": "\(beat)",
         "pipelines": ["tiny"], "queued": 0, "nextTick": "2030-01-01T00:00:00Z"}
        """.write(to: f.root.appendingPathComponent("data/watch.json"), atomically: true, encoding: .utf8)
        let state = try #require(try f.client.get("/api/watch").json as? [String: Any])
        #expect(state["present"] as? Bool == true)
        #expect((state["status"] as? [String: Any])?["pid"] as? Double == 4242)
        #expect(state["nextTick"] as? String == "2030-01-01T00:00:00Z")
        #expect((state["beatAgeSeconds"] as? Double).map { $0 < 30 } == true)
        let page = try f.client.get("/watch")
        #expect(page.status == 200 && page.body.contains("2030-01-01T00:00:00Z"))
    }
}
