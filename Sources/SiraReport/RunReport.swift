import Foundation
import SiraPipeline
import SiraStages
import SiraStore

/// The HTML report of one run (`sira-pipeline report RUN`): one self-contained file, inline CSS
/// and SVG, no script and no network, readable in any browser and printable.
///
/// Sections: the verdict per task in words, the comparison tables (winners marked), training and
/// eval loss curves per task, the router's expert load per layer with dropped-token fractions,
/// the stage timeline, and the change against the previous run of the same pipeline.
public struct RunReport {
    public let data: ReportData
    let comparison: Comparison
    let colours: [String: String]

    public init(_ data: ReportData) {
        self.data = data
        comparison = data.comparison
        var variants = comparison.variants
        for s in data.series { if let v = s.variant { let name = VariantName(parsing: v).variant; if !variants.contains(name) { variants.append(name) } } }
        for r in data.routers { let name = VariantName(parsing: r.variant).variant; if !variants.contains(name) { variants.append(name) } }
        colours = ReportPalette.assign(variants)
    }

    public func html() -> String {
        let run = data.detail.run
        var page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        page += "<title>\(HTML.escape("\(run.pipeline) · run \(run.id) · sira-pipeline report"))</title>\n"
        page += "<style>\n\(ReportStyle.css)</style>\n</head>\n<body>\n<main>\n"
        page += header()
        page += section("verdict", "Which variant wins", verdictSection())
        page += section("comparison", "Comparison", comparisonSection())
        page += section("curves", "Loss curves", curvesSection())
        page += section("router", "Expert load and dropped tokens", routerSection())
        page += section("timeline", "Stage timeline", timelineSection())
        page += section("previous", "Change against the previous run", previousSection())
        page += "<footer>Generated \(HTML.escape(PackageManifest.timestamp(data.generatedAt))) by sira-pipeline \(HTML.escape(ToolVersion.string)) from \(HTML.escape("data/runs.sqlite")).</footer>\n"
        page += "</main>\n</body>\n</html>\n"
        return page
    }

    func section(_ id: String, _ title: String, _ body: String) -> String {
        "<section id=\"\(id)\">\n<h2>\(HTML.escape(title))</h2>\n\(body)</section>\n"
    }

    func header() -> String {
        let run = data.detail.run
        var out = "<header>\n<h1>\(HTML.escape(run.pipeline)) <span class=\"runid\">run \(run.id)</span> "
        out += "<span class=\"badge status-\(HTML.escape(run.status.rawValue))\">\(HTML.escape(run.status.rawValue))</span></h1>\n"
        var facts: [(String, String)] = [
            ("trigger", run.trigger),
            ("started", run.startedAt.map(PackageManifest.timestamp) ?? "not started"),
            ("duration", run.duration(now: data.generatedAt).map(SVGTimeline.duration) ?? "–"),
            ("host", "\(run.host) (pid \(run.pid))"),
            ("manifest", String(run.manifestHash.prefix(16))),
        ]
        if let file = data.detail.params.first(where: { $0.stageRunID == nil && $0.key == "manifest.file" }) {
            facts.insert(("manifest file", file.value), at: 4)
        }
        let latest = StageAttempts.latest(data.detail.stages)
        var counts: [String: Int] = [:]
        for s in latest { counts[s.status.rawValue, default: 0] += 1 }
        let order = ["succeeded", "cached", "failed", "crashed", "cancelled", "skipped", "running", "queued"]
        facts.append(("stages", order.compactMap { k in counts[k].map { "\($0) \(k)" } }.joined(separator: ", ")))
        out += "<dl class=\"facts\">" + facts.map { "<div><dt>\(HTML.escape($0.0))</dt><dd>\(HTML.escape($0.1))</dd></div>" }.joined() + "</dl>\n"
        if let error = run.error { out += "<p class=\"error\">\(HTML.escape(error))</p>\n" }
        out += "<nav>" + [("verdict", "verdict"), ("comparison", "comparison"), ("curves", "loss curves"), ("router", "router"),
                          ("timeline", "timeline"), ("previous", "previous run")]
            .map { "<a href=\"#\($0.0)\">\(HTML.escape($0.1))</a>" }.joined(separator: " · ") + "</nav>\n"
        return out + "</header>\n"
    }

    /// `<span class="swatch">` in the variant's colour, then its name.
    func variantLabel(_ variant: String) -> String {
        let colour = colours[variant] ?? ReportPalette.base
        let kind = data.architectures[variant].map { $0 == variant ? "" : " <span class=\"kind\">\(HTML.escape($0))</span>" } ?? ""
        return "<span class=\"swatch\" style=\"background:\(colour)\"></span>\(HTML.escape(variant))\(kind)"
    }
}
