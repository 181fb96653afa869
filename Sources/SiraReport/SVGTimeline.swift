import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// The stages of a run on a time line (inline SVG): one row per attempt in start order, a bar
/// from start to finish coloured by status; cached and skipped stages take no time and show as a
/// marker where they were decided. Times are seconds from the run's start.
struct SVGTimeline {
    var stages: [StageRunRecord]
    var runStart: Date
    var runEnd: Date

    func render() -> String {
        let labelW = 260.0, right = 86.0, rowH = 15.0, top = 8.0, axisH = 30.0, width = 1180.0
        let rows = stages.count
        let height = top + Double(max(rows, 1)) * rowH + axisH + 22
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"\(HTML.coordinate(width))\" height=\"\(HTML.coordinate(height))\" viewBox=\"0 0 \(HTML.coordinate(width)) \(HTML.coordinate(height))\" role=\"img\">"
        guard rows > 0 else { return svg + "<text x=\"4\" y=\"16\" class=\"muted\">no stages recorded</text></svg>" }
        let ends = stages.compactMap { ($0.finishedAt ?? $0.startedAt)?.timeIntervalSince(runStart) }
        let span = max(ends.max() ?? 0, runEnd.timeIntervalSince(runStart), 1e-3)
        let x = ChartScale(dataMin: 0, dataMax: span, pixelFrom: labelW, pixelTo: width - right, targetTicks: 8)
        let axisY = top + Double(rows) * rowH + 4
        for t in x.ticks {
            let px = HTML.coordinate(x.pixel(t))
            svg += "<line x1=\"\(px)\" x2=\"\(px)\" y1=\"\(HTML.coordinate(top))\" y2=\"\(HTML.coordinate(axisY))\" class=\"grid\"/>"
            svg += "<text x=\"\(px)\" y=\"\(HTML.coordinate(axisY + 14))\" text-anchor=\"middle\" class=\"tick\">\(HTML.escape(x.label(t)))</text>"
        }
        svg += "<text x=\"\(HTML.coordinate((labelW + width - right) / 2))\" y=\"\(HTML.coordinate(axisY + 28))\" text-anchor=\"middle\" class=\"axis\">seconds since the run started</text>"
        for (i, s) in stages.enumerated() {
            let y = top + Double(i) * rowH
            let name = s.attempt > 1 ? "\(s.stage) (attempt \(s.attempt))" : s.stage
            svg += "<text x=\"\(HTML.coordinate(labelW - 8))\" y=\"\(HTML.coordinate(y + rowH / 2))\" dy=\"0.32em\" text-anchor=\"end\" class=\"tick\">\(HTML.escape(Self.clip(name, 42)))</text>"
            let colour = ReportPalette.status(s.status.rawValue)
            let start = (s.startedAt ?? s.finishedAt)?.timeIntervalSince(runStart) ?? 0
            let end = (s.finishedAt ?? runEnd).timeIntervalSince(runStart)
            let x0 = x.pixel(max(0, start)), x1 = x.pixel(max(start, end))
            let tip = "\(s.stage): \(s.status.rawValue)" + (s.duration.map { String(format: ", %.2f s", $0) } ?? "") + (s.error.map { " — \($0)" } ?? "")
            if x1 - x0 < 2 {
                let cx = x0, cy = y + rowH / 2
                svg += "<path d=\"M\(HTML.coordinate(cx)) \(HTML.coordinate(cy - 5)) L\(HTML.coordinate(cx + 5)) \(HTML.coordinate(cy)) L\(HTML.coordinate(cx)) \(HTML.coordinate(cy + 5)) L\(HTML.coordinate(cx - 5)) \(HTML.coordinate(cy)) Z\" fill=\"\(colour)\"><title>\(HTML.escape(tip))</title></path>"
            } else {
                svg += "<rect x=\"\(HTML.coordinate(x0))\" y=\"\(HTML.coordinate(y + 3))\" width=\"\(HTML.coordinate(x1 - x0))\" height=\"\(HTML.coordinate(rowH - 6))\" rx=\"2\" fill=\"\(colour)\"><title>\(HTML.escape(tip))</title></rect>"
            }
            let note = s.status == .succeeded ? Self.duration(s.duration ?? max(0, end - start)) : s.status.rawValue
            svg += "<text x=\"\(HTML.coordinate(max(x1, x0 + 5) + 6))\" y=\"\(HTML.coordinate(y + rowH / 2))\" dy=\"0.32em\" class=\"tick\">\(HTML.escape(note))</text>"
        }
        return svg + "</svg>"
    }

    static func clip(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "…" }

    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return String(format: "%.0f ms", seconds * 1000) }
        if seconds < 120 { return String(format: "%.1f s", seconds) }
        return String(format: "%d min %02d s", Int(seconds) / 60, Int(seconds) % 60)
    }
}
