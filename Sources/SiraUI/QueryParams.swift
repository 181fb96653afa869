import Foundation
import Hummingbird
import SiraStore

/// Strict parsing of the runs filter: an unknown status, a non-date, a bad limit is a 400 naming
/// the parameter, never silently ignored (a script would otherwise read the wrong runs).
struct RunsQuery: Sendable {
    var filter = RunFilter()
    var trigger: String?

    init(_ query: [String: String]) throws {
        let known: Set = ["pipeline", "status", "trigger", "since", "limit", "token"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw HTTPError(.badRequest, message: "unknown query parameter '\(unknown)'")
        }
        if let p = query["pipeline"], !p.isEmpty { filter.pipeline = p }
        if let s = query["status"], !s.isEmpty {
            guard let status = RunStatus(rawValue: s) else {
                throw HTTPError(.badRequest, message: "status=\(s): expected one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.status = status
        }
        if let t = query["trigger"], !t.isEmpty { trigger = t }
        if let d = query["since"], !d.isEmpty {
            guard let date = Self.parseDate(d) else {
                throw HTTPError(.badRequest, message: "since=\(d): expected a date YYYY-MM-DD or an ISO 8601 time")
            }
            filter.since = date
        }
        if let l = query["limit"], !l.isEmpty {
            guard let n = Int(l), n > 0, n <= 100_000 else {
                throw HTTPError(.badRequest, message: "limit=\(l): expected an integer 1...100000")
            }
            filter.limit = n
        }
    }

    static func parseDate(_ s: String) -> Date? {
        if let d = ISO8601DateFormatter().date(from: s) { return d }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.date(from: s)
    }
}

/// Query parameters as a dictionary (last value wins).
func queryDictionary(_ request: Request) -> [String: String] {
    var out: [String: String] = [:]
    for (k, v) in request.uri.queryParameters { out[String(k)] = String(v) }
    return out
}

/// A run id from the path: digits only, else 400.
func runID(_ context: some RequestContext, _ name: String = "id") throws -> RunID {
    let raw = context.parameters.get(name) ?? ""
    guard let id = RunID(raw), id > 0 else {
        throw HTTPError(.badRequest, message: "'\(raw)': a run id is a positive integer")
    }
    return id
}
