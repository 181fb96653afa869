import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// A linear axis: a data interval mapped onto a pixel interval, with "nice" tick values
/// (1, 2 or 5 times a power of ten) that cover the data.
struct ChartScale {
    let lower: Double
    let upper: Double
    let ticks: [Double]
    let pixelFrom: Double
    let pixelTo: Double

    /// `paddingFraction` widens a flat or tight range so lines do not sit on the frame.
    init(dataMin: Double, dataMax: Double, pixelFrom: Double, pixelTo: Double, targetTicks: Int = 5, paddingFraction: Double = 0) {
        var lo = dataMin.isFinite ? dataMin : 0, hi = dataMax.isFinite ? dataMax : 1
        if hi < lo { swap(&lo, &hi) }
        if hi == lo {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
        } else if paddingFraction > 0 {
            let pad = (hi - lo) * paddingFraction
            lo -= pad
            hi += pad
        }
        let step = Self.niceStep((hi - lo) / Double(max(1, targetTicks)))
        let first = (lo / step).rounded(.down) * step
        let last = (hi / step).rounded(.up) * step
        var ticks: [Double] = []
        var t = first
        while t <= last + step * 1e-9, ticks.count < 50 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        lower = first
        upper = last
        self.ticks = ticks
        self.pixelFrom = pixelFrom
        self.pixelTo = pixelTo
    }

    func pixel(_ v: Double) -> Double {
        guard upper > lower else { return pixelFrom }
        return pixelFrom + (v - lower) / (upper - lower) * (pixelTo - pixelFrom)
    }

    /// The smallest 1, 2 or 5 × 10^k at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * magnitude >= raw * (1 - 1e-12) { return m * magnitude }
        return 10 * magnitude
    }

    /// A tick label with no more decimals than the tick spacing needs.
    func label(_ v: Double) -> String {
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let decimals = max(0, min(6, Int((-log10(step)).rounded(.up))))
        if abs(v) >= 10_000 { return String(format: "%.3g", v) }
        return String(format: "%.\(decimals)f", v)
    }
}

/// Colours of the report: one per variant, the same everywhere on the page (the base is grey).
enum ReportPalette {
    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#393b79"]
    static let base = "#7f7f7f"

    /// Stable colour assignment: `variants` in display order.
    static func assign(_ variants: [String]) -> [String: String] {
        var out: [String: String] = [:]
        var i = 0
        for v in variants {
            if v == StageID.baseVariant || v == "pretraining" { out[v] = base; continue }
            out[v] = colours[i % colours.count]
            i += 1
        }
        return out
    }

    /// A white → dark blue ramp for `t` in [0, 1].
    static func sequential(_ t: Double) -> String {
        let x = max(0, min(1, t.isFinite ? t : 0))
        let from = (247.0, 251.0, 255.0), to = (8.0, 48.0, 107.0)
        let r = from.0 + (to.0 - from.0) * x, g = from.1 + (to.1 - from.1) * x, b = from.2 + (to.2 - from.2) * x
        return String(format: "#%02x%02x%02x", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    static func status(_ s: String) -> String {
        switch s {
        case "succeeded": return "#2ca02c"
        case "cached": return "#9ecae1"
        case "failed", "crashed": return "#d62728"
        case "cancelled": return "#ff7f0e"
        case "running", "queued": return "#bcbd22"
        default: return "#c7c7c7"
        }
    }
}
