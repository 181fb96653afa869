import Foundation
import SiraStore
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The HTML report, rendered from a database filled through `RunStore` the way runs fill it.
@Suite struct ReportTests {
    static let hostile = "<script>alert('x')</script>&\"q\""

    @Test func escapeCoversMarkupQuotesAndControlCharacters() {
        #expect(HTML.escape("<a href=\"x\">'&</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&lt;/a&gt;")
        #expect(HTML.escape("tab\tnew\nline\u{1}\u{7F}é✓") == "tab\tnew\nlineé✓")
    }

    @Test func niceTicksCoverTheData() {
        let s = ChartScale(dataMin: 0.37, dataMax: 2.91, pixelFrom: 0, pixelTo: 100, targetTicks: 6)
        #expect(s.ticks == [0, 0.5, 1, 1.5, 2, 2.5, 3])
        #expect(s.pixel(0) == 0 && s.pixel(3) == 100)
        #expect(ChartScale.niceStep(0.0031) == 0.005)
        #expect(ChartScale.niceStep(70) == 100)
        // 2.54 / 5 = 0.508 needs a step of 1, not 0.5.
        #expect(ChartScale(dataMin: 0.37, dataMax: 2.91, pixelFrom: 0, pixelTo: 1, targetTicks: 5).ticks == [0, 1, 2, 3])
    }

    /// Two runs of one pipeline: run 1 trains and evaluates; run 2 evaluates three seed replicas
    /// per variant, reuses run 1's training of `sira` from the cache, and one stage fails with a
    /// hostile error message.
    func filledStore(_ folder: URL) throws -> (RunStore, RunID, RunID) {
        let store = try RunStore(path: folder.appendingPathComponent("runs.sqlite").path)
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let task = Self.hostile

        let r1 = try store.createRun(pipeline: "demo", manifestHash: "aaaa", trigger: "manual", status: .running, now: t0)
        try store.recordParams(run: r1, ["adapters.lora.kind": "lora", "adapters.sira.kind": "sira"])
        let train1 = try store.startStage(run: r1, StageSpec(stage: "train@t:sira", kind: "train", task: task, variant: "sira", cacheKey: "K-sira"), now: t0)
        try store.recordMetrics((1 ... 40).map { MetricPoint(runID: r1, stageRunID: train1, task: task, variant: "sira", key: "train.loss", value: 3 - Double($0) * 0.05, step: $0, time: t0) })
        try store.recordMetrics([10, 20, 30, 40].map { MetricPoint(runID: r1, stageRunID: train1, task: task, variant: "sira", key: "train.eval_loss", value: 3.2 - Double($0) * 0.04, step: $0, time: t0) })
        // Per-layer routing: 2 layers × 4 experts; layer 1 drops 12.5 %.
        var router: [MetricPoint] = []
        let loads = [[0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]]
        for (l, row) in loads.enumerated() {
            for (e, v) in row.enumerated() {
                router.append(MetricPoint(runID: r1, stageRunID: train1, task: task, variant: "sira", key: RouterMetricKey.layerLoad(l, expert: e), value: v))
            }
            router.append(MetricPoint(runID: r1, stageRunID: train1, task: task, variant: "sira", key: RouterMetricKey.layerDropped(l), value: l == 0 ? 0 : 0.125))
            router.append(MetricPoint(runID: r1, stageRunID: train1, task: task, variant: "sira", key: RouterMetricKey.layerEntropy(l), value: l == 0 ? 1.386 : 0.94))
        }
        router.append(MetricPoint(runID: r1, stageRunID: train1, task: task, variant: "sira", key: RouterMetricKey.droppedFraction, value: 0.0625))
        try store.recordMetrics(router)
        try store.updateStage(train1, status: .succeeded, now: t0.addingTimeInterval(30))
        let ev1 = try store.startStage(run: r1, StageSpec(stage: "evaluate@t:lora", kind: "evaluate", task: task, variant: "lora"), now: t0.addingTimeInterval(30))
        try store.recordMetrics([MetricPoint(runID: r1, stageRunID: ev1, task: task, variant: "lora", key: "eval.exact_match", value: 0.4)])
        try store.updateStage(ev1, status: .succeeded, now: t0.addingTimeInterval(35))
        try store.setRunStatus(r1, .succeeded, now: t0.addingTimeInterval(36))

        let t1 = t0.addingTimeInterval(3600)
        let r2 = try store.createRun(pipeline: "demo", manifestHash: "bbbb", trigger: "manual", status: .running, now: t1)
        try store.recordParams(run: r2, ["adapters.lora.kind": "lora", "adapters.sira.kind": "sira"])
        try store.recordStage(run: r2, StageSpec(stage: "train@t:sira", kind: "train", task: task, variant: "sira", cacheKey: "K-sira"), status: .cached, now: t1)
        // lora: exact match 0.5/0.6/0.7, loss 1/2/4; sira: 0.8/0.8/0.8; base: 0.05.
        let replicas: [(String, Double, Double)] = [
            ("lora~s0", 0.5, 1), ("lora~s1", 0.6, 2), ("lora~s2", 0.7, 4),
            ("sira~s0", 0.8, 0.5), ("sira~s1", 0.8, 0.5), ("sira~s2", 0.8, 0.5), ("base", 0.05, 5),
        ]
        for (i, (variant, em, loss)) in replicas.enumerated() {
            let at = t1.addingTimeInterval(Double(i) * 10)
            let id = try store.startStage(run: r2, StageSpec(stage: "evaluate@t:\(variant)", kind: "evaluate", task: task, variant: variant), now: at)
            try store.recordMetrics([
                MetricPoint(runID: r2, stageRunID: id, task: task, variant: variant, key: "eval.exact_match", value: em, time: at),
                MetricPoint(runID: r2, stageRunID: id, task: task, variant: variant, key: "eval.loss", value: loss, time: at),
            ])
            try store.updateStage(id, status: .succeeded, now: at.addingTimeInterval(8))
        }
        let bad = try store.startStage(run: r2, StageSpec(stage: "package@t:sira", kind: "package", task: task, variant: "sira"), now: t1.addingTimeInterval(80))
        try store.updateStage(bad, status: .failed, error: "disk full \(Self.hostile)", now: t1.addingTimeInterval(81))
        try store.setRunStatus(r2, .failed, error: "package failed: \(Self.hostile)", now: t1.addingTimeInterval(82))
        return (store, r1, r2)
    }

    @Test func reportShowsComparisonCurvesRouterTimelineAndChangeWithEverythingEscaped() throws {
        try withTemporaryFolder { folder in
            let (store, r1, r2) = try filledStore(folder)
            let data = try #require(try ReportData.load(store: store, run: r2, now: Date(timeIntervalSince1970: 1_700_010_000)))
            #expect(data.previous?.run.id == r1)
            // The cached train stage's curves come from run 1, which produced them.
            #expect(data.series.count == 2 && data.series.allSatisfy { $0.fromRun == r1 })
            #expect(data.series.first { $0.key == "train.loss" }?.steps == Array(1 ... 40))
            // ...but its router statistics are final metrics of run 1 only.
            #expect(data.routers.isEmpty)
            let html = RunReport(data).html()

            // Escaping: the hostile task name and error never appear raw.
            #expect(!html.contains("<script"))
            #expect(!html.contains("alert('x')"))
            #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;q&quot;"))
            #expect(html.contains("disk full &lt;script&gt;"))

            // Numbers: lora exact match 0.600 ± 0.100 and loss 2.333 ± 1.528 (mean ± sample std
            // by hand), sira 0.800 ± 0.000 wins and is starred; the base is listed.
            #expect(html.contains("0.600 ± 0.100"))
            #expect(html.contains("2.333 ± 1.528"))
            #expect(html.contains("★ 0.800 ± 0.000"))
            #expect(html.contains("0.050"))
            #expect(html.contains("sira wins on exact match with 0.800 ± 0.000 (3 seeds), 0.200 ahead of lora (0.600 ± 0.100)"))
            #expect(html.contains("SiRA (sira) beats the best non-SiRA variant (lora) by 0.200."))
            // Change against run 1: lora exact match 0.400 → 0.600 ± 0.100, better.
            #expect(html.contains("<td class=\"better\">0.400 → 0.600 (+0.200)</td>"))

            // Structure: every section, balanced elements, a curve per series, a timeline row per
            // stage attempt (9) including the cached one as a marker.
            for id in ["verdict", "comparison", "curves", "router", "timeline", "previous"] {
                #expect(html.contains("<section id=\"\(id)\">"))
            }
            for tag in ["section", "table", "svg", "figure", "ul"] {
                #expect(count(html, "<\(tag)") == count(html, "</\(tag)>"), "unbalanced <\(tag)>")
            }
            #expect(count(html, "<polyline") == 2)
            #expect(html.contains("stroke-dasharray=\"6 4\""))
            let timeline = try #require(slice(html, from: "class=\"timeline\"", to: "</svg>"))
            #expect(count(timeline, "<title>") == 9)
            #expect(count(timeline, "<path d=") >= 1)
            // Self-contained: no URL other than the SVG namespace, no script.
            #expect(!html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"))
            try expectWellFormedSVG(html)
        }
    }

    @Test func routerHeatmapHasACellPerLayerAndExpertAndTheDroppedFractions() throws {
        try withTemporaryFolder { folder in
            let (store, r1, _) = try filledStore(folder)
            let data = try #require(try ReportData.load(store: store, run: r1))
            #expect(data.previous == nil)
            let router = try #require(data.routers.first)
            #expect(router.load == [[0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]])
            #expect(router.dropped == [0, 0.125] && router.totalDropped == 0.0625)
            let html = RunReport(data).html()
            let heatmap = try #require(slice(html, from: "class=\"heatmap\"", to: "</svg>"))
            #expect(count(heatmap, "<title>layer") == 8)
            #expect(heatmap.contains(">70%<") && heatmap.contains(">25%<") && heatmap.contains("12.5%"))
            #expect(html.contains("dropped 6.3% overall"))
            #expect(html.contains("first recorded run of demo"))
            try expectWellFormedSVG(html)
        }
    }

    /// Evaluation's routing (`eval.router.*`, on the eval split) is drawn in its own grid, before
    /// training's, and the two are not mixed up.
    @Test func evalSplitRoutingIsDrawnApartFromTrainingRouting() throws {
        try withTemporaryFolder { folder in
            let store = try RunStore(path: folder.appendingPathComponent("runs.sqlite").path)
            let t0 = Date(timeIntervalSince1970: 1_700_000_000)
            let run = try store.createRun(pipeline: "p", manifestHash: "h", trigger: "manual", status: .running, now: t0)
            let train = try store.startStage(run: run, StageSpec(stage: "train@copy:sira", kind: "train", task: "copy", variant: "sira"), now: t0)
            let eval = try store.startStage(run: run, StageSpec(stage: "evaluate@copy:sira", kind: "evaluate", task: "copy", variant: "sira"), now: t0)
            func point(_ stage: Int64, _ key: String, _ value: Double) -> MetricPoint {
                MetricPoint(runID: run, stageRunID: stage, task: "copy", variant: "sira", key: key, value: value)
            }
            let e = RouterMetricKey.evaluation
            try store.recordMetrics([
                point(train, RouterMetricKey.layerLoad(0, expert: 0), 0.5), point(train, RouterMetricKey.layerLoad(0, expert: 1), 0.5),
                point(train, RouterMetricKey.droppedFraction, 0.25),
                point(eval, RouterMetricKey.layerLoad(0, expert: 0, prefix: e), 0.875), point(eval, RouterMetricKey.layerLoad(0, expert: 1, prefix: e), 0.125),
                point(eval, RouterMetricKey.layerDropped(0, prefix: e), 0), point(eval, RouterMetricKey.droppedFraction(e), 0),
                point(eval, RouterMetricKey.entropy(e), 0.377),
                point(eval, "eval.exact_match", 0.5),
            ])
            let data = try #require(try ReportData.load(store: store, run: run))
            #expect(data.routers.map(\.load) == [[[0.5, 0.5]]] && data.routers.first?.totalDropped == 0.25)
            let evalRouter = try #require(data.evalRouters.first)
            #expect(data.evalRouters.count == 1 && evalRouter.load == [[0.875, 0.125]])
            #expect(evalRouter.dropped == [0] && evalRouter.totalDropped == 0 && evalRouter.totalEntropy == 0.377)

            let html = RunReport(data).html()
            let evalPart = try #require(slice(html, from: "On the eval split", to: "During training"))
            #expect(evalPart.contains(">87.5%<") && evalPart.contains(">12.5%<") && evalPart.contains("dropped 0% overall"))
            #expect(!evalPart.contains(">50%<"))
            let trainPart = try #require(slice(html, from: "During training", to: "</section>"))
            #expect(trainPart.contains(">50%<") && trainPart.contains("dropped 25% overall") && !trainPart.contains(">87.5%<"))
            try expectWellFormedSVG(html)
        }
    }

    func count(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func slice(_ text: String, from start: String, to end: String) -> String? {
        guard let a = text.range(of: start), let b = text.range(of: end, range: a.upperBound ..< text.endIndex) else { return nil }
        return String(text[a.lowerBound ..< b.upperBound])
    }

    /// Every inline SVG parses as XML (HTML entities other than XML's five are not used).
    func expectWellFormedSVG(_ html: String) throws {
        var rest = html[...]
        var n = 0
        while let a = rest.range(of: "<svg "), let b = rest.range(of: "</svg>", range: a.upperBound ..< rest.endIndex) {
            let svg = String(rest[a.lowerBound ..< b.upperBound])
            let parser = XMLParser(data: Data(svg.utf8))
            #expect(parser.parse(), "SVG \(n) is not well-formed: \(String(describing: parser.parserError))")
            rest = rest[b.upperBound...]
            n += 1
        }
        #expect(n > 0)
    }
}
