#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// One log record per line on standard error, as text for people or JSON for log collectors
/// (journald, Loki, `jq`). Chosen with `--log-format text|json`.
///
/// text: `2024-05-05T02:00:00.123Z info  run started pipeline=demo run=12`
/// json: `{"label":"sira.watch","level":"info","message":"run started","pipeline":"demo","run":"12","time":"..."}`
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public let label: String
    public let format: Format
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let write: @Sendable (String) -> Void

    /// `write` receives each finished line, newline included (default: standard error).
    public init(label: String, format: Format, write: (@Sendable (String) -> Void)? = nil) {
        self.label = label
        self.format = format
        self.write = write ?? { line in
            // One write(2) per line, so lines from several threads never interleave.
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { raw in _ = Glibc.write(2, raw.baseAddress, raw.count) }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        write(Self.render(format: format, label: label, level: event.level, message: "\(event.message)",
                          metadata: merged, time: Date()))
    }

    static func render(format: Format, label: String, level: Logger.Level, message: String,
                       metadata: Logger.Metadata, time: Date) -> String {
        let stamp = timestamp(time)
        switch format {
        case .text:
            let fields = metadata.keys.sorted().map { "\($0)=\(quoted("\(metadata[$0]!)"))" }.joined(separator: " ")
            let padded = level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
            return "\(stamp) \(padded) \(message)\(fields.isEmpty ? "" : " " + fields)\n"
        case .json:
            var object: [String: String] = ["time": stamp, "level": level.rawValue, "label": label, "message": message]
            for (key, value) in metadata where object[key] == nil { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self) + "\n"
        }
    }

    /// Values with spaces or quotes are quoted so a text line still splits into fields.
    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
