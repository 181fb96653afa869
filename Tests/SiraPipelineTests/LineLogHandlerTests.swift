import Foundation
import Logging
import Testing
@testable import SiraPipeline
@testable import SiraStages
@testable import SiraReport

@Suite struct LineLogHandlerTests {
    final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var items: [String] = []
        func add(_ s: String) { lock.withLock { items.append(s) } }
    }

    @Test func jsonLinesParseBackWithEveryField() throws {
        let lines = Lines()
        var logger = Logger(label: "sira.watch") { LineLogHandler(label: $0, format: .json, write: { lines.add($0) }) }
        logger[metadataKey: "pid"] = "42"
        logger.info("file \"quoted\" complete", metadata: ["file": "data/inbox/a b.jsonl", "bytes": "7"])
        logger.debug("below the level")
        #expect(lines.items.count == 1)
        let line = try #require(lines.items.first)
        #expect(line.hasSuffix("\n") && !line.dropLast().contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["message"] == "file \"quoted\" complete")
        #expect(object["file"] == "data/inbox/a b.jsonl")
        #expect(object["bytes"] == "7" && object["pid"] == "42")
        #expect(object["level"] == "info" && object["label"] == "sira.watch")
        #expect(object["time"].flatMap { ISO8601DateFormatter.withFractions.date(from: $0) } != nil)
    }

    @Test func textLinesKeepFieldsSplittable() {
        let t = Date(timeIntervalSince1970: 1_714_874_400.5)
        let line = LineLogHandler.render(format: .text, label: "x", level: .warning, message: "file quarantined",
                                         metadata: ["reason": "no pipeline takes it", "file": "a.csv"], time: t)
        #expect(line == "2024-05-05T02:00:00.500Z warning file quarantined file=a.csv reason=\"no pipeline takes it\"\n")
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}

/// The watch daemon's run log: a retry line says why the attempt failed and where its log is.
@Suite struct RunLogObserverTests {
    @Test func retryLinesCarryTheReasonAndTheFailedAttemptsLog() throws {
        let lines = LineLogHandlerTests.Lines()
        let logger = Logger(label: "sira.watch") { LineLogHandler(label: $0, format: .json, write: { lines.add($0) }) }
        let observer = RunLogObserver(logger: logger, onStart: { _ in })
        observer.handle(.runStarted(runID: 7, pipeline: "p", stages: []))
        observer.handle(.stageRetrying(StageID(.ingest, task: "country"), attempt: 2, delay: 2,
                                       error: "data/inbox/country.csv:3: unterminated quote\nmore detail"))
        let line = try #require(lines.items.last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["message"] == "stage retrying")
        #expect(object["reason"] == "data/inbox/country.csv:3: unterminated quote")
        #expect(object["log"] == "data/logs/7/ingest@country.1.log")
    }
}
