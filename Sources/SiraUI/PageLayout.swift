import Foundation
import Hummingbird
import SiraStore

/// The HTML shell every page shares: inline CSS and script, nothing fetched from elsewhere, so the
/// binary alone serves the UI (also offline, also on a cluster login node).
enum PageLayout {
    static func escape(_ s: String) -> String { HTMLText.escape(s) }

    static func badge(_ status: String, live: Bool = false) -> String {
        "<span class=\"badge \(escape(status))\">\(escape(status))\(live ? " ●" : "")</span>"
    }

    static func page(title: String, body: String, script: String = "") -> Response {
        let html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) · sira-pipeline</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>\(css)</style></head><body>
        <nav><a href="/">runs</a> <a href="/watch">watch</a></nav>
        <main><h1>\(escape(title))</h1>\(body)</main>
        <script>\(ChartScript.source)\(script)</script></body></html>
        """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let css = """
    body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
    nav{background:#223;padding:8px 16px}nav a{color:#fff;margin-right:16px;text-decoration:none}
    main{padding:12px 20px}table{border-collapse:collapse;margin:8px 0}
    td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;font-variant-numeric:tabular-nums}
    th{background:#eee}.badge{padding:1px 6px;border-radius:8px;color:#fff;font-size:12px}
    .succeeded{background:#2a7}.failed{background:#c33}.running{background:#27c}.queued{background:#888}
    .crashed{background:#a4a}.cancelled{background:#b80}.cached{background:#5a9}.skipped{background:#aaa}
    .pos{color:#c33}.neg{color:#2a7}pre{background:#111;color:#ddd;padding:8px;max-height:60vh;overflow:auto}
    svg.chart{background:#fff;border:1px solid #ddd;margin:4px}.muted{color:#888}
    form.filter input,form.filter select{margin-right:8px}
    """
}
