import Foundation
import SiraStore
import Testing
@testable import SiraPipeline

/// `sira-pipeline ui` as people start it: the built binary serving a workspace made by a real
/// tiny pipeline run, read over a raw loopback socket and checked against the database.
@Suite(.serialized) struct UICommandTests {
    @Test func servesARealRunAndRefusesARemoteAddressWithoutFlagAndToken() throws {
        let p = try TinyPipeline.small()
        #expect(try p.run().status == 0)
        let store = try p.store()
        let run = try #require(try store.runs().first)

        let port = RawHTTP.freePort()
        let ui = try p.cli(["ui", "--port", "\(port)", "--workspace", p.root.path])
        defer { ui.signal(SIGTERM); _ = try? ui.wait(timeout: 30) }
        #expect(ui.waitForOutput(timeout: 60) { $0.contains("serving") }, "the ui command did not start")
        let client = RawHTTP(port: port)
        let list = try #require(RawHTTP.eventually(timeout: 30) { try? client.get("/api/runs") })
        let ids = (list.json as? [[String: Any]])?.compactMap { ($0["run"] as? [String: Any])?["id"] as? Int64 }
        #expect(ids == (try store.runs().map(\.id)))

        let detail = try client.get("/api/runs/\(run.id)")
        let stages = (detail.json as? [String: Any])?["stages"] as? [[String: Any]]
        #expect(stages?.count == (try store.stages(run: run.id).count))
        let page = try client.get("/runs/\(run.id)")
        #expect(page.status == 200)
        // Every stage log the page links is served, and is the file under data/logs.
        let logs = try store.stages(run: run.id).compactMap(\.logPath).filter { FileManager.default.fileExists(atPath: p.root.appendingPathComponent($0).path) }
        #expect(!logs.isEmpty)
        for path in logs.prefix(3) {
            let rel = path.split(separator: "/").suffix(2).joined(separator: "/")
            #expect(page.body.contains("/logs/\(rel)"), "\(rel) not linked")
            let served = try client.get("/api/logs/\(rel)?offset=0")
            let text = (served.json as? [String: Any])?["text"] as? String
            #expect(text == (try String(contentsOf: p.root.appendingPathComponent(path), encoding: .utf8)), "\(rel)")
        }
        let key = try #require(try store.metrics(run: run.id).first?.key)
        let series = try client.get("/api/runs/\(run.id)/metrics/\(key)")
        #expect((series.json as? [Any])?.count == (try store.metricSeries(run: run.id, key: key).count))
        #expect(try client.get("/logs/../../etc/passwd").status == 400)

        let remote = try p.command(["ui", "--host", "0.0.0.0", "--port", "\(RawHTTP.freePort())"])
        #expect(remote.status == 1 && remote.stderr.contains("--allow-remote"), "\(remote.stderr)")
        let noToken = try p.command(["ui", "--host", "0.0.0.0", "--allow-remote", "--port", "\(RawHTTP.freePort())"])
        #expect(noToken.status == 1 && noToken.stderr.contains("token"), "\(noToken.stderr)")
    }
}
