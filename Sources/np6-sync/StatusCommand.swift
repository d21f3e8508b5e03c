import ArgumentParser
import Foundation
import NP6Model
import NP6Sync
import SyncStore
import Config

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show contacts by state, failing contacts, stored events and the last run (works while np6-sync runs)."
    )

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await runReportingErrors {
            let configuration = try options.loadConfiguration()
            let runtime = try await Runtime.open(configuration: configuration, addingConfiguredContacts: false, openStore: openStore)
            let now = WallClock.nowMs()
            let status = try await runtime.database.status(now: now)
            let sinks = SinksStatusCommand.rows(
                configured: configuration.sinks, statuses: try await runtime.database.sinkStatuses())
            if json {
                print(try Self.json(status, sinks: sinks, database: runtime.database.location, now: now))
            } else {
                print(Self.text(status, database: runtime.database.location, now: now))
                if !sinks.isEmpty { print("sinks\n" + SinksStatusCommand.text(sinks, now: now).split(separator: "\n").map { "  \($0)" }.joined(separator: "\n")) }
            }
        }
    }

    static func text(_ status: StoreStatus, database: String, now: Int64) -> String {
        var lines = ["database   \(database)"]
        let states = status.contactsByStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        lines.append("contacts   \(status.enabledContacts) enabled (\(states.joined(separator: ", "))), \(status.contacts - status.enabledContacts) removed")
        if let oldest = status.oldestWatermarkMs, let median = status.medianWatermarkMs, let p95 = status.p95LagWatermarkMs {
            lines.append(
                "lag        median \(duration(now - median)), 95th percentile \(duration(now - p95)), "
                    + "worst \(duration(now - oldest)) (oldest watermark \(Timestamp.iso8601(milliseconds: oldest)))")
        }
        if status.neverSynced > 0 { lines.append("           \(status.neverSynced) contacts never synced yet") }
        lines.append("events     \(status.events) stored, \(status.eventsLastDay) in the last 24 h, \(status.quarantined) quarantined")
        if let run = status.lastRun {
            lines.append(
                "last run   \(run.kind) at \(Timestamp.iso8601(milliseconds: run.startedMs)): \(run.contactsPolled) polled, "
                    + "\(run.eventsNew) new, \(run.eventsDuplicate) duplicates, \(run.contactsFailed) failed"
                    + (run.error.map { " (\($0))" } ?? ""))
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

    static func json(_ status: StoreStatus, sinks: [SinksStatusCommand.Row], database: String, now: Int64) throws -> String {
        var object: [String: Any] = [
            "database": database,
            "sinks": SinksStatusCommand.objects(sinks, now: now),
            "contacts": [
                "total": status.contacts, "enabled": status.enabledContacts, "byStatus": status.contactsByStatus,
                "neverSynced": status.neverSynced,
            ] as [String: Any],
            "events": ["stored": status.events, "lastDay": status.eventsLastDay, "quarantined": status.quarantined],
            "failing": status.failing.map { contact in
                [
                    "kind": contact.reference.kind.rawValue, "value": contact.reference.value,
                    "status": contact.lastStatus?.rawValue ?? NSNull(), "error": contact.lastError ?? NSNull(),
                    "consecutiveFailures": contact.consecutiveFailures, "nextDueMs": contact.nextDueMs,
                ] as [String: Any]
            },
        ]
        if let oldest = status.oldestWatermarkMs, let median = status.medianWatermarkMs, let p95 = status.p95LagWatermarkMs {
            object["oldestWatermarkMs"] = oldest
            object["lagMs"] = ["median": now - median, "p95": now - p95, "max": now - oldest]
        }
        if let run = status.lastRun {
            object["lastRun"] = [
                "kind": run.kind, "startedMs": run.startedMs, "finishedMs": run.finishedMs,
                "contactsPolled": run.contactsPolled, "contactsFailed": run.contactsFailed, "requests": run.requests,
                "eventsNew": run.eventsNew, "eventsDuplicate": run.eventsDuplicate,
                "eventsQuarantined": run.eventsQuarantined, "error": run.error ?? NSNull(),
            ] as [String: Any]
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
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
