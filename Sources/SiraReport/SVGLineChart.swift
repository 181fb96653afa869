import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// A line chart as inline SVG: step on x, value on y, one polyline per line, a legend underneath.
/// Long series are reduced to at most `maxPoints` by averaging consecutive buckets, so a page
/// with many 10 000-step curves stays small and the lines stay readable.
struct SVGLineChart {
    struct Line {
        var label: String
        var colour: String
        var dashed = false
        var steps: [Int]
        var values: [Double]
    }

    var lines: [Line]
    var xTitle = "step"
    var yTitle = "loss"
    var width = 560.0
    var height = 300.0
    var maxPoints = 300

    func render() -> String {
        let left = 58.0, right = 14.0, top = 12.0, bottom = 40.0
        let legendRows = (lines.count + 1) / 2
        let totalHeight = height + Double(legendRows) * 18 + 6
        let reduced = lines.map { Self.reduce($0, to: maxPoints) }
        let finite = reduced.flatMap { $0.values.filter(\.isFinite) }
        let allSteps = reduced.flatMap(\.steps)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(HTML.coordinate(width))\" height=\"\(HTML.coordinate(totalHeight))\" viewBox=\"0 0 \(HTML.coordinate(width)) \(HTML.coordinate(totalHeight))\" role=\"img\">"
        guard let yMin = finite.min(), let yMax = finite.max(), let xMin = allSteps.min(), let xMax = allSteps.max() else {
            svg += "<text x=\"\(HTML.coordinate(width / 2))\" y=\"\(HTML.coordinate(height / 2))\" text-anchor=\"middle\" class=\"muted\">no points recorded</text></svg>"
            return svg
        }
        let x = ChartScale(dataMin: Double(xMin), dataMax: Double(xMax), pixelFrom: left, pixelTo: width - right, targetTicks: 6)
        let y = ChartScale(dataMin: yMin, dataMax: yMax, pixelFrom: height - bottom, pixelTo: top, targetTicks: 5, paddingFraction: 0.03)
        // Grid and axes.
        for t in y.ticks {
            let py = HTML.coordinate(y.pixel(t))
            svg += "<line x1=\"\(HTML.coordinate(left))\" x2=\"\(HTML.coordinate(width - right))\" y1=\"\(py)\" y2=\"\(py)\" class=\"grid\"/>"
            svg += "<text x=\"\(HTML.coordinate(left - 6))\" y=\"\(py)\" dy=\"0.32em\" text-anchor=\"end\" class=\"tick\">\(HTML.escape(y.label(t)))</text>"
        }
        for t in x.ticks {
            let px = HTML.coordinate(x.pixel(t))
            svg += "<line x1=\"\(px)\" x2=\"\(px)\" y1=\"\(HTML.coordinate(top))\" y2=\"\(HTML.coordinate(height - bottom))\" class=\"grid\"/>"
            svg += "<text x=\"\(px)\" y=\"\(HTML.coordinate(height - bottom + 16))\" text-anchor=\"middle\" class=\"tick\">\(HTML.escape(x.label(t)))</text>"
        }
        svg += "<rect x=\"\(HTML.coordinate(left))\" y=\"\(HTML.coordinate(top))\" width=\"\(HTML.coordinate(width - left - right))\" height=\"\(HTML.coordinate(height - top - bottom))\" class=\"frame\"/>"
        svg += "<text x=\"\(HTML.coordinate((left + width - right) / 2))\" y=\"\(HTML.coordinate(height - 6))\" text-anchor=\"middle\" class=\"axis\">\(HTML.escape(xTitle))</text>"
        svg += "<text transform=\"translate(14 \(HTML.coordinate((top + height - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" class=\"axis\">\(HTML.escape(yTitle))</text>"
        // Lines (a single point is drawn as a dot).
        for line in reduced {
            let pts = zip(line.steps, line.values).filter { $0.1.isFinite }
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            if pts.count == 1 {
                svg += "<circle cx=\"\(HTML.coordinate(x.pixel(Double(pts[0].0))))\" cy=\"\(HTML.coordinate(y.pixel(pts[0].1)))\" r=\"3\" fill=\"\(HTML.escape(line.colour))\"/>"
                continue
            }
            let coords = pts.map { "\(HTML.coordinate(x.pixel(Double($0.0)))),\(HTML.coordinate(y.pixel($0.1)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(coords)\" fill=\"none\" stroke=\"\(HTML.escape(line.colour))\" stroke-width=\"1.8\"\(dash)><title>\(HTML.escape(line.label))</title></polyline>"
        }
        // Legend, two columns.
        for (i, line) in lines.enumerated() {
            let lx = left + Double(i % 2) * (width - left) / 2, ly = height + 8 + Double(i / 2) * 18
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            svg += "<line x1=\"\(HTML.coordinate(lx))\" x2=\"\(HTML.coordinate(lx + 24))\" y1=\"\(HTML.coordinate(ly))\" y2=\"\(HTML.coordinate(ly))\" stroke=\"\(HTML.escape(line.colour))\" stroke-width=\"2.5\"\(dash)/>"
            svg += "<text x=\"\(HTML.coordinate(lx + 30))\" y=\"\(HTML.coordinate(ly))\" dy=\"0.32em\" class=\"legend\">\(HTML.escape(line.label))</text>"
        }
        return svg + "</svg>"
    }

    /// Averages consecutive points in buckets so at most `limit` remain (x: the bucket's last step).
    static func reduce(_ line: Line, to limit: Int) -> Line {
        let n = min(line.steps.count, line.values.count)
        guard n > limit, limit > 0 else { return line }
        var out = line
        out.steps = []
        out.values = []
        let per = Double(n) / Double(limit)
        for b in 0 ..< limit {
            let lo = Int((Double(b) * per).rounded(.down)), hi = min(n, Int((Double(b + 1) * per).rounded(.down)))
            guard hi > lo else { continue }
            let slice = line.values[lo ..< hi].filter(\.isFinite)
            out.steps.append(line.steps[hi - 1])
            out.values.append(slice.isEmpty ? .nan : slice.reduce(0, +) / Double(slice.count))
        }
        return out
    }
}
