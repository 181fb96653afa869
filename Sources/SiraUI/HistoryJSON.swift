import Foundation
import Hummingbird
import SiraStore

/// JSON bodies for the API: the store's own Codable records, dates as ISO 8601, keys sorted so
/// scripts and tests can diff responses.
enum HistoryJSON {
    static func encode<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// `/api/runs/{id}`: everything the run page shows.
struct RunPayload: Encodable {
    var run: RunRecord
    var stages: [StageRunRecord]
    var params: [ParamRecord]
    var finalMetrics: [MetricPoint]
    var metricKeys: [String]
    var events: [EventRecord]
}

/// `/api/runs/{id}/live?after=N`: what changed since the client's N-th metric point; the page
/// polls it every second, which meets the 2 s freshness bound without holding a connection.
struct LivePayload: Encodable {
    var status: RunStatus
    var metricCount: Int
    var points: [MetricPoint]
    var stages: [StageRunRecord]
}

/// A run in the list, with its stage counts.
struct RunListItem: Encodable {
    var run: RunRecord
    var stages: StageSummary?
}
