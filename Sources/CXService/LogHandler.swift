import Foundation
import Logging
import NIOConcurrencyHelpers

/// How log lines look: `text` is key=value (logfmt), `json` one object per line.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Writes one line per log record to standard error: time, level, label,
/// message, then every metadata key (a call's `call_id` and `method` among
/// them). Lines from different threads never interleave.
public struct CXLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: LogFormat
    private static let lock = NIOLock()

    public init(label: String, level: Logger.Level, format: LogFormat) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = Self.format(
            time: Date(), level: event.level, label: label, message: "\(event.message)", metadata: merged, format: format)
        Self.lock.withLock {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// One record as a line; no trailing newline.
    public static func format(
        time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, format: LogFormat
    ) -> String {
        let timestamp = time.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        let keys = metadata.keys.sorted()
        switch format {
        case .text:
            var line = "\(timestamp) \(level.rawValue) \(label): \(message)"
            for key in keys { line += " \(key)=\(logfmtValue("\(metadata[key]!)"))" }
            return line
        case .json:
            var fields: [(String, String)] = [("time", timestamp), ("level", level.rawValue), ("label", label), ("message", message)]
            for key in keys { fields.append((key, "\(metadata[key]!)")) }
            return "{" + fields.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",") + "}"
        }
    }

    private static func logfmtValue(_ value: String) -> String {
        if !value.isEmpty && !value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            return value
        }
        return jsonString(value)
    }

    static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
