import Foundation
import Logging
import NP6Model

/// A swift-log handler that writes one line per record: logfmt (the default) or JSON.
///
/// Under journald (`JOURNAL_STREAM` set) it leaves the timestamp out: the journal keeps its own.
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case logfmt
        case json
    }

    /// Shared by every handler of the process, so a reload changes them all.
    public var logLevel: Logger.Level {
        get { levelControl.level }
        set { levelControl.level = newValue }
    }
    private let levelControl: LogLevelControl
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let timestamps: Bool
    private let write: @Sendable (String) -> Void

    public init(
        label: String,
        level: LogLevelControl,
        format: Format,
        timestamps: Bool,
        write: @escaping @Sendable (String) -> Void = LineLogHandler.writeToStandardError
    ) {
        self.label = label
        self.levelControl = level
        self.format = format
        self.timestamps = timestamps
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = []
        if timestamps { fields.append(("ts", Timestamp.iso8601(milliseconds: WallClock.nowMs()))) }
        fields.append(("level", event.level.rawValue))
        fields.append(("msg", "\(event.message)"))
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() {
            fields.append((key, "\(merged[key]!)"))
        }
        write(format == .json ? Self.json(fields) : Self.logfmt(fields))
    }

    static func logfmt(_ fields: [(String, String)]) -> String {
        fields.map { key, value in "\(key)=\(logfmtValue(value))" }.joined(separator: " ")
    }

    private static func logfmtValue(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline || $0 == "\\" }
        guard needsQuotes else { return value }
        return JSONText.quoted(value)
    }

    static func json(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(JSONText.quoted($0)):\(JSONText.quoted($1))" }.joined(separator: ",") + "}"
    }

    @Sendable public static func writeToStandardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
