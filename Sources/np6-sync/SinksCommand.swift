import ArgumentParser
import Foundation
import Logging
import NP6Model
import NP6Sync
import SyncStore
import Config
import Sinks

struct SinksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sinks",
        abstract: "Show how delivery to each sink is going, or deliver events to a sink again.",
        subcommands: [SinksStatusCommand.self, SinksReplayCommand.self]
    )
}

struct SinksStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per sink: state, cursor, lag in events and time, last error, dead letters (works while np6-sync runs).",
        discussion: """
            The state is the one the delivery loop last recorded: running, failing (retrying with \
            backoff), stopped (the receiver rejected a batch; fix it, then reload or replay), or new \
            (configured, never run). A sink with a cursor but no longer in the config is listed as \
            not configured, without a lag: nothing delivers to it any more.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await runReportingErrors {
            let configuration = try options.loadConfiguration()
            let runtime = try await Runtime.open(configuration: configuration, addingConfiguredContacts: false, openStore: openStore)
            let rows = Self.rows(configured: configuration.sinks, statuses: try await runtime.database.sinkStatuses())
            let now = WallClock.nowMs()
            print(json ? try Self.json(rows, database: runtime.database.location, now: now) : Self.text(rows, now: now))
        }
    }

    struct Row {
        var name: String
        /// `nil` when the sink is no longer configured.
        var type: String?
        /// `nil` when the sink never ran.
        var status: SinkStatus?

        var state: String {
            guard type != nil else { return "not configured" }
            guard let status else { return "new" }
            return status.cursor.state?.rawValue ?? "unknown"
        }
    }

    /// The configured sinks in config order, then the cursors of sinks no longer configured.
    static func rows(configured: [SinkConfiguration], statuses: [SinkStatus]) -> [Row] {
        let byName = Dictionary(statuses.map { ($0.cursor.sink, $0) }, uniquingKeysWith: { first, _ in first })
        let names = Set(configured.map(\.name))
        return configured.map { Row(name: $0.name, type: $0.kind.typeName, status: byName[$0.name]) }
            + statuses.filter { !names.contains($0.cursor.sink) }.map { Row(name: $0.cursor.sink, type: nil, status: $0) }
    }

    static func text(_ rows: [Row], now: Int64) -> String {
        guard !rows.isEmpty else { return "no sinks configured" }
        var lines: [String] = []
        for row in rows {
            guard let type = row.type else {
                // Its cursor row stays, but it is not lagging: nothing delivers to it any more.
                lines.append("\(row.name)  not configured  cursor \(row.status?.cursor.deliveredSeq ?? 0)  dead letters \(row.status?.deadLetters ?? 0)")
                continue
            }
            var line = "\(row.name)  \(type)  \(row.state)"
            if let status = row.status {
                line += "  cursor \(status.cursor.deliveredSeq)  lag \(status.pendingEvents) events"
                if status.pendingEvents > 0 { line += " (oldest waiting \(StatusCommand.duration(status.lagMs(now: now))))" }
                line += "  dead letters \(status.deadLetters)"
            }
            lines.append(line)
            if let status = row.status, let error = status.cursor.lastError {
                let at = status.cursor.lastAttemptMs.map { " at \(Timestamp.iso8601(milliseconds: $0))" } ?? ""
                lines.append("  last error\(at) (×\(status.cursor.consecutiveFailures)): \(error)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ rows: [Row], database: String, now: Int64) throws -> String {
        try prettyJSON(Report(database: database, sinks: rows.map { SinkReport($0, now: now) }))
    }

    /// What `sinks status --json` prints.
    struct Report: Encodable {
        var database: String
        var sinks: [SinkReport]
    }

    /// One sink, as `sinks status --json` and `status --json` print it: `type` is `null` when
    /// the sink is no longer configured, and then its state is `not configured` and it has no
    /// `pendingEvents` or `lagMs`; the cursor's fields are absent when it never ran, and then a
    /// missing `lastError`, `lastAttemptMs` or `lastSuccessMs` is `null`.
    struct SinkReport: Encodable {
        var row: Row
        var now: Int64

        init(_ row: Row, now: Int64) {
            self.row = row
            self.now = now
        }

        enum CodingKeys: String, CodingKey {
            case name, type, configured, state
            case deliveredSeq, pendingEvents, lagMs, deadLetters, lastError, consecutiveFailures, lastAttemptMs, lastSuccessMs
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(row.name, forKey: .name)
            try container.encode(row.type, forKey: .type)
            try container.encode(row.type != nil, forKey: .configured)
            try container.encode(row.state, forKey: .state)
            guard let status = row.status else { return }
            try container.encode(status.cursor.deliveredSeq, forKey: .deliveredSeq)
            if row.type != nil {
                try container.encode(status.pendingEvents, forKey: .pendingEvents)
                try container.encode(status.lagMs(now: now), forKey: .lagMs)
            }
            try container.encode(status.deadLetters, forKey: .deadLetters)
            try container.encode(status.cursor.lastError, forKey: .lastError)
            try container.encode(status.cursor.consecutiveFailures, forKey: .consecutiveFailures)
            try container.encode(status.cursor.lastAttemptMs, forKey: .lastAttemptMs)
            try container.encode(status.cursor.lastSuccessMs, forKey: .lastSuccessMs)
        }
    }
}

struct SinksReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Deliver events to a sink again: move its cursor back, or re-send its dead letters.",
        discussion: """
            --from-seq N delivers again every event from seq N on; --since TIME every event stamped \
            or stored at or after TIME, and all that follow it. The cursor never moves forward, so \
            nothing undelivered is skipped, and a stopped sink resumes. A running daemon picks the \
            change up within a second. --dead-letters re-sends the sink's dead letters now, one \
            event per delivery. Exit codes: 0 ok, 1 some dead letters were rejected again or the \
            receiver failed, 64 an unknown sink name or wrong options, 78 configuration.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The sink's name, as in the config.")
    var name: String

    @Option(help: "Deliver again every event whose seq is at least this.")
    var fromSeq: Int64?

    @Option(help: "Deliver again from the first event stamped or stored at or after this time: ISO-8601, ms since the epoch, or an age like 90m, 24h, 7d.")
    var since: String?

    @Flag(help: "Re-send the sink's dead letters.")
    var deadLetters = false

    @Option(help: "Log level on stderr, instead of the config's logging.level (for --dead-letters).")
    var logLevel: Logger.Level?

    func validate() throws {
        let chosen = [fromSeq != nil, since != nil, deadLetters].filter { $0 }.count
        guard chosen == 1 else { throw ValidationError("give exactly one of --from-seq N, --since TIME, --dead-letters") }
        if let fromSeq, fromSeq < 1 { throw ValidationError("--from-seq must be at least 1") }
        if let since, EventsCommand.parseSince(since, nowMs: WallClock.nowMs()) == nil {
            throw ValidationError("--since takes an ISO-8601 time, ms since the epoch, or an age like 90m, 24h, 7d; got \"\(since)\"")
        }
    }

    func run() async throws {
        try await runReportingErrors {
            let configuration = try options.loadConfiguration()
            guard configuration.sinks.contains(where: { $0.name == name }) else {
                printError("\(SinkSupervisorError.unknownSink(name, configured: configuration.sinks.map(\.name)))")
                throw ExitCode(64)
            }
            let runtime = try await Runtime.open(configuration: configuration, addingConfiguredContacts: false, openStore: openStore)
            let now = WallClock.nowMs()
            if deadLetters {
                try await resendDeadLetters(configuration, runtime: runtime)
                return
            }
            let rewind =
                if let fromSeq {
                    try await runtime.database.rewindSinkCursor(name, toRedeliverFromSeq: fromSeq, now: now)
                } else {
                    try await runtime.database.rewindSinkCursor(
                        name, toRedeliverSinceMs: EventsCommand.parseSince(since ?? "", nowMs: now) ?? now, now: now)
                }
            switch rewind.previousSeq {
            case let previous? where previous > rewind.deliveredSeq:
                print("\(name): cursor moved back from \(previous) to \(rewind.deliveredSeq); events after it will be delivered again")
            case let previous?:
                print("\(name): cursor left at \(previous) (nothing delivered after that point); the sink resumes if it was stopped")
            case nil:
                print("\(name): cursor set to \(rewind.deliveredSeq); the sink has not run yet")
            }
        }
    }

    private func resendDeadLetters(_ configuration: SyncConfiguration, runtime: Runtime) async throws {
        let logger = bootstrapLogging(
            level: logLevel ?? Logger.Level(rawValue: configuration.logging.level.rawValue) ?? .info,
            format: LineLogHandler.Format(rawValue: configuration.logging.format.rawValue) ?? .logfmt)
        let supervisor = SinkSupervisor(database: runtime.database, sinks: configuration.sinks, logger: logger)
        let report = try await supervisor.resendDeadLetters(of: name)
        print("\(name): \(report.resent) dead letters resent, \(report.rejected) rejected again, \(report.missing) whose event is gone")
        if let error = report.error { printError("\(name): resend stopped: \(error)") }
        if report.rejected > 0 || report.error != nil { throw ExitCode.failure }
    }
}
