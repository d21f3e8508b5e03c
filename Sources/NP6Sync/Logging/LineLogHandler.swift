import Foundation
import Logging
import NP6Model

/// A swift-log handler that writes one line per record: logfmt (the default) or JSON.
///
/// Under journald (``LogDestination``) it leaves the timestamp out, since the journal keeps its
/// own, and gives each record its priority: through the journal's native socket with the
/// metadata as journal fields (`sink.name` → `SINK_NAME`), else with a `<N>` prefix on stderr.
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
    private let destination: LogDestination
    private let write: @Sendable (String) -> Void

    public init(
        label: String,
        level: LogLevelControl,
        format: Format,
        destination: LogDestination,
        write: @escaping @Sendable (String) -> Void = LineLogHandler.writeToStandardError
    ) {
        self.label = label
        self.levelControl = level
        self.format = format
        self.destination = destination
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = []
        if destination.timestamps { fields.append(("ts", Timestamp.iso8601(milliseconds: WallClock.nowMs()))) }
        fields.append(("level", event.level.rawValue))
        fields.append(("msg", "\(event.message)"))
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let metadataFields = merged.keys.sorted().map { key in (key, "\(merged[key]!)") }
        fields += metadataFields
        let line = format == .json ? Self.json(fields) : Self.logfmt(fields)
        let priority = event.level.syslogPriority
        if let journal = destination.journal {
            let journalFields = metadataFields.map { key, value in (JournalWriter.fieldName(key), value) }
            // Refused (journald restarting, a record too big for a datagram): the stream keeps it.
            if (try? journal.send(message: line, priority: priority, fields: journalFields)) != nil { return }
        }
        write(destination.priorityPrefix ? "<\(priority)>" + line : line)
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
