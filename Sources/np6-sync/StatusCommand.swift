import ArgumentParser
import Config
import Foundation
import NP6Model
import NP6Sync
import SyncStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show contacts by state, failing contacts, stored events and the last run (works while np6-sync runs)."
    )

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await options.withRuntime(.reading) { runtime in
            let now = WallClock.nowMs()
            let status = try await runtime.database.status(now: now)
            let sinks = SinksStatusCommand.rows(
                configured: runtime.configuration.sinks, statuses: try await runtime.database.sinkStatuses())
            if json {
                print(try Self.json(status, sinks: sinks, database: runtime.database.location, now: now))
            } else {
                print(Self.text(status, database: runtime.database.location, now: now))
                if !sinks.isEmpty {
                    print(
                        "sinks\n"
                            + SinksStatusCommand.text(sinks, now: now).split(separator: "\n").map { "  \($0)" }.joined(
                                separator: "\n"))
                }
            }
        }
    }

    static func text(_ status: StoreStatus, database: String, now: Int64) -> String {
        var lines = ["database   \(database)"]
        let states = status.contactsByStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        lines.append(
            "contacts   \(status.enabledContacts) enabled (\(states.joined(separator: ", "))), \(status.contacts - status.enabledContacts) removed"
        )
        if let oldest = status.oldestWatermarkMs, let median = status.medianWatermarkMs,
            let p95 = status.p95LagWatermarkMs
        {
            lines.append(
                "lag        median \(duration(now - median)), 95th percentile \(duration(now - p95)), "
                    + "worst \(duration(now - oldest)) (oldest watermark \(Timestamp.iso8601(milliseconds: oldest)))")
        }
        if status.neverSynced > 0 { lines.append("           \(status.neverSynced) contacts never synced yet") }
        lines.append(
            "events     \(status.events) stored, \(status.eventsLastDay) in the last 24 h, \(status.quarantined) quarantined"
        )
        if let run = status.lastRun {
            lines.append(
                "last run   \(run.kind) at \(Timestamp.iso8601(milliseconds: run.startedMs)): \(run.contactsPolled) polled, "
                    + "\(run.eventsNew) new, \(run.eventsDuplicate) duplicates, \(run.contactsFailed) failed"
                    + (run.error.map { " (\($0))" } ?? ""))
        }
        if !status.instances.isEmpty {
            lines.append("instances")
            for row in status.instances {
                lines.append(
                    "  \(row.instance.id)  \(row.instance.host) pid \(row.instance.pid)  \(row.leases) leases  "
                        + "heartbeat \(duration(now - row.lastHeartbeatMs)) ago  "
                        + "started \(Timestamp.iso8601(milliseconds: row.instance.startedMs))")
            }
        }
        if !status.failing.isEmpty {
            lines.append("failing")
            for contact in status.failing {
                lines.append(
                    "  \(contact.reference)  \(contact.lastStatus?.rawValue ?? "?") ×\(contact.consecutiveFailures)  "
                        + "\(contact.lastError ?? "")  next \(Timestamp.iso8601(milliseconds: contact.nextDueMs))")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func json(
        _ status: StoreStatus, sinks: [SinksStatusCommand.Row], database: String, now: Int64
    ) throws -> String {
        try prettyJSON(Report(status, sinks: sinks, database: database, now: now))
    }

    /// What `status --json` prints. `oldestWatermarkMs`, `lagMs` and `lastRun` are absent when
    /// there is nothing to show; a missing `status` or `error` is `null`.
    struct Report: Encodable {
        var database: String
        var sinks: [SinksStatusCommand.SinkReport]
        var contacts: Contacts
        var events: Events
        var failing: [FailingContact]
        var oldestWatermarkMs: Int64?
        var lagMs: Lag?
        var lastRun: LastRun?
        /// The daemons sharing a PostgreSQL database; empty for SQLite.
        var instances: [Instance]

        struct Contacts: Encodable {
            var total: Int
            var enabled: Int
            var byStatus: [String: Int]
            var neverSynced: Int
        }

        struct Events: Encodable {
            var stored: Int
            var lastDay: Int
            var quarantined: Int
        }

        struct Lag: Encodable {
            var median: Int64
            var p95: Int64
            var max: Int64
        }

        struct FailingContact: Encodable {
            var contact: StoredContact

            enum CodingKeys: String, CodingKey {
                case kind, value, status, error, consecutiveFailures, nextDueMs
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(contact.reference.kind.rawValue, forKey: .kind)
                try container.encode(contact.reference.value, forKey: .value)
                try container.encode(contact.lastStatus?.rawValue, forKey: .status)
                try container.encode(contact.lastError, forKey: .error)
                try container.encode(contact.consecutiveFailures, forKey: .consecutiveFailures)
                try container.encode(contact.nextDueMs, forKey: .nextDueMs)
            }
        }

        struct Instance: Encodable {
            var id: String
            var host: String
            var pid: Int64
            var startedMs: Int64
            var lastHeartbeatMs: Int64
            var leases: Int

            init(_ row: InstanceStatus) {
                (id, host, pid, startedMs) = (
                    row.instance.id, row.instance.host, row.instance.pid, row.instance.startedMs
                )
                (lastHeartbeatMs, leases) = (row.lastHeartbeatMs, row.leases)
            }
        }

        struct LastRun: Encodable {
            var run: SyncRunSummary

            enum CodingKeys: String, CodingKey {
                case kind, startedMs, finishedMs, contactsPolled, contactsFailed, requests
                case eventsNew, eventsDuplicate, eventsConflicting, eventsQuarantined, error
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(run.kind, forKey: .kind)
                try container.encode(run.startedMs, forKey: .startedMs)
                try container.encode(run.finishedMs, forKey: .finishedMs)
                try container.encode(run.contactsPolled, forKey: .contactsPolled)
                try container.encode(run.contactsFailed, forKey: .contactsFailed)
                try container.encode(run.requests, forKey: .requests)
                try container.encode(run.eventsNew, forKey: .eventsNew)
                try container.encode(run.eventsDuplicate, forKey: .eventsDuplicate)
                try container.encode(run.eventsConflicting, forKey: .eventsConflicting)
                try container.encode(run.eventsQuarantined, forKey: .eventsQuarantined)
                try container.encode(run.error, forKey: .error)
            }
        }

        init(_ status: StoreStatus, sinks: [SinksStatusCommand.Row], database: String, now: Int64) {
            self.database = database
            self.sinks = sinks.map { SinksStatusCommand.SinkReport($0, now: now) }
            contacts = Contacts(
                total: status.contacts, enabled: status.enabledContacts, byStatus: status.contactsByStatus,
                neverSynced: status.neverSynced)
            events = Events(stored: status.events, lastDay: status.eventsLastDay, quarantined: status.quarantined)
            failing = status.failing.map(FailingContact.init)
            if let oldest = status.oldestWatermarkMs, let median = status.medianWatermarkMs,
                let p95 = status.p95LagWatermarkMs
            {
                oldestWatermarkMs = oldest
                lagMs = Lag(median: now - median, p95: now - p95, max: now - oldest)
            }
            lastRun = status.lastRun.map(LastRun.init)
            instances = status.instances.map(Instance.init)
        }
    }

    static func duration(_ milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1000)
        switch seconds {
        case ..<120: return "\(seconds) s"
        case ..<7200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3600) h"
        default: return "\(seconds / 86400) days"
        }
    }
}
