import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// The routing of one SiRA adapter as inline SVG: a heatmap with a row per decoder layer and a
/// column per expert (the share of the layer's top-k assignments each expert received, darker is
/// more; the value is printed in the cell), and to its right, per layer, a bar of the fraction of
/// assignments dropped by capacity and the routing entropy.
struct SVGRouterHeatmap {
    var router: ReportRouter

    func render() -> String {
        let experts = router.experts
        let layers = router.load.count
        let cellW = 46.0, cellH = 24.0, left = 40.0, top = 22.0
        let barW = 110.0, gap = 18.0
        let gridW = Double(experts) * cellW
        let width = left + gridW + gap + barW + 70
        let height = top + Double(max(layers, 1)) * cellH + 6
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heatmap\" width=\"\(HTML.coordinate(width))\" height=\"\(HTML.coordinate(height))\" viewBox=\"0 0 \(HTML.coordinate(width)) \(HTML.coordinate(height))\" role=\"img\">"
        guard experts > 0, layers > 0 else {
            return svg + "<text x=\"4\" y=\"16\" class=\"muted\">no per-layer routing recorded</text></svg>"
        }
        // Uniform routing sits mid-scale; an expert taking twice its share or more is darkest.
        let maxLoad = max(router.load.flatMap { $0 }.filter(\.isFinite).max() ?? 0, 2 / Double(experts))
        for e in 0 ..< experts {
            svg += "<text x=\"\(HTML.coordinate(left + (Double(e) + 0.5) * cellW))\" y=\"\(HTML.coordinate(top - 7))\" text-anchor=\"middle\" class=\"tick\">e\(e)</text>"
        }
        let barX = left + gridW + gap
        svg += "<text x=\"\(HTML.coordinate(barX))\" y=\"\(HTML.coordinate(top - 7))\" class=\"tick\">dropped · entropy</text>"
        for (l, row) in router.load.enumerated() {
            let y = top + Double(l) * cellH
            svg += "<text x=\"\(HTML.coordinate(left - 6))\" y=\"\(HTML.coordinate(y + cellH / 2))\" dy=\"0.32em\" text-anchor=\"end\" class=\"tick\">L\(l)</text>"
            for e in 0 ..< experts {
                let v = e < row.count ? row[e] : 0
                let t = v / maxLoad
                let x = left + Double(e) * cellW
                svg += "<rect x=\"\(HTML.coordinate(x))\" y=\"\(HTML.coordinate(y))\" width=\"\(HTML.coordinate(cellW - 2))\" height=\"\(HTML.coordinate(cellH - 2))\" fill=\"\(ReportPalette.sequential(t))\"><title>layer \(l), expert \(e): \(HTML.escape(Self.percent(v)))</title></rect>"
                svg += "<text x=\"\(HTML.coordinate(x + (cellW - 2) / 2))\" y=\"\(HTML.coordinate(y + (cellH - 2) / 2))\" dy=\"0.32em\" text-anchor=\"middle\" class=\"cell \(t > 0.55 ? "on-dark" : "on-light")\">\(HTML.escape(Self.percent(v)))</text>"
            }
            let dropped = l < router.dropped.count ? router.dropped[l] : nil
            svg += "<rect x=\"\(HTML.coordinate(barX))\" y=\"\(HTML.coordinate(y + 4))\" width=\"\(HTML.coordinate(barW))\" height=\"\(HTML.coordinate(cellH - 10))\" class=\"bartrack\"/>"
            if let d = dropped, d.isFinite {
                svg += "<rect x=\"\(HTML.coordinate(barX))\" y=\"\(HTML.coordinate(y + 4))\" width=\"\(HTML.coordinate(barW * max(0, min(1, d))))\" height=\"\(HTML.coordinate(cellH - 10))\" fill=\"#d62728\"/>"
            }
            let entropy = l < router.entropy.count ? router.entropy[l] : nil
            let label = (dropped.map(Self.percent) ?? "–") + " · " + (entropy.map { String(format: "%.2f", $0) } ?? "–")
            svg += "<text x=\"\(HTML.coordinate(barX + barW + 6))\" y=\"\(HTML.coordinate(y + cellH / 2))\" dy=\"0.32em\" class=\"tick\">\(HTML.escape(label))</text>"
        }
        return svg + "</svg>"
    }

    static func percent(_ v: Double) -> String {
        guard v.isFinite else { return "–" }
        let p = v * 100
        let tenths = (p * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? String(format: "%.0f%%", tenths / 10) : String(format: "%.1f%%", tenths / 10)
    }
}
