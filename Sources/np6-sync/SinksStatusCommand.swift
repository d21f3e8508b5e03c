import ArgumentParser
import Config
import Foundation
import Logging
import NP6Model
import NP6Sync
import Sinks
import SyncStore

struct SinksStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Per sink: state, cursor, lag in events and time, last error, dead letters (works while np6-sync runs).",
        discussion: """
            The state is the one the delivery loop last recorded: running, failing (retrying with \
            backoff), stopped (the receiver rejected a batch; fix it, then reload or replay), or new \
            (configured, never run). A sink with a cursor but no longer in the config is listed as \
            not configured, without a lag: nothing delivers to it any more. With several instances \
            on one PostgreSQL database, the instance that holds a sink's lease (delivers it) is shown.
            """
    )

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await options.withRuntime(.reading) { runtime in
            let rows = Self.rows(
                configured: runtime.configuration.sinks, statuses: try await runtime.database.sinkStatuses())
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
            + statuses.filter { !names.contains($0.cursor.sink) }.map {
                Row(name: $0.cursor.sink, type: nil, status: $0)
            }
    }

    static func text(_ rows: [Row], now: Int64) -> String {
        guard !rows.isEmpty else { return "no sinks configured" }
        var lines: [String] = []
        for row in rows {
            guard let type = row.type else {
                // Its cursor row stays, but it is not lagging: nothing delivers to it any more.
                lines.append(
                    "\(row.name)  not configured  cursor \(row.status?.cursor.deliveredSeq ?? 0)  dead letters \(row.status?.deadLetters ?? 0)"
                )
                continue
            }
            var line = "\(row.name)  \(type)  \(row.state)"
            if let status = row.status {
                line += "  cursor \(status.cursor.deliveredSeq)  lag \(status.pendingEvents) events"
                if status.pendingEvents > 0 {
                    line += " (oldest waiting \(StatusCommand.duration(status.lagMs(now: now))))"
                }
                line += "  dead letters \(status.deadLetters)"
                if let lease = status.lease { line += "  " + leaseText(lease, now: now) }
            }
            lines.append(line)
            if let status = row.status, let error = status.cursor.lastError {
                let at = status.cursor.lastAttemptMs.map { " at \(Timestamp.iso8601(milliseconds: $0))" } ?? ""
                lines.append("  last error\(at) (×\(status.cursor.consecutiveFailures)): \(error)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Who delivers the sink: its lease's holder, or the one whose lease ran out.
    static func leaseText(_ lease: SinkLease, now: Int64) -> String {
        let holder =
            if let host = lease.host, let pid = lease.pid {
                "\(host) pid \(pid) (instance \(lease.owner))"
            } else {
                "instance \(lease.owner)"
            }
        guard lease.isLive(now: now) else {
            return "lease expired \(StatusCommand.duration(now - lease.untilMs)) ago (\(holder))"
        }
        return "delivered by \(holder)"
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
    /// missing `lastError`, `lastAttemptMs` or `lastSuccessMs` is `null`. `lease` is there only
    /// when an instance holds (or held, `live` false) the sink's lease (PostgreSQL).
    struct SinkReport: Encodable {
        var row: Row
        var now: Int64

        init(_ row: Row, now: Int64) {
            self.row = row
            self.now = now
        }

        enum CodingKeys: String, CodingKey {
            case name, type, configured, state
            case deliveredSeq, pendingEvents, lagMs, deadLetters, lastError, consecutiveFailures, lastAttemptMs,
                lastSuccessMs, lease
        }

        struct Lease: Encodable {
            var instance: String
            var host: String?
            var pid: Int64?
            var untilMs: Int64
            var live: Bool
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
            if let lease = status.lease {
                try container.encode(
                    Lease(
                        instance: lease.owner, host: lease.host, pid: lease.pid, untilMs: lease.untilMs,
                        live: lease.isLive(now: now)),
                    forKey: .lease)
            }
        }
    }
}
