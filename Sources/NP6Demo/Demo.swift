import Config
import Foundation
import Logging
import NP6Client
import NP6Fake
import NP6Model
import NP6Sync
import SQLiteStore
import SyncStore

/// `np6-sync demo`: the product end to end on its embedded default. It starts the fake NP6 API
/// in-process, syncs its contacts into a real SQLite file, lets new stop events arrive (some
/// late), syncs again, and prints what happened and how to query the result.
public struct Demo: Sendable {
    public var databasePath: String
    public var contactCount: Int
    public var seed: UInt64

    public init(databasePath: String = "np6-sync-demo.sqlite", contactCount: Int = 50, seed: UInt64 = 2026) {
        self.databasePath = databasePath
        self.contactCount = contactCount
        self.seed = seed
    }

    /// Runs the demo, writing its report through `print`. Throws on a database or server failure.
    public func run(logger: Logger, print: @Sendable (String) -> Void) async throws {
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: databasePath + suffix)
        }
        var fake = FakeNP6Configuration()
        fake.seed = seed
        fake.contactCount = contactCount
        fake.eventsPerContact = 0...4
        try await withFakeNP6API(configuration: fake) { api in
            let database = try SQLiteEventStore.open(path: databasePath)
            let client = NP6Client(
                configuration: NP6ClientConfiguration(baseURL: api.baseURL, apiKey: fake.apiKey),
                now: WallClock.nowMs)
            do {
                let contacts = await api.state.contacts
                // Each fake contact under one of the three kinds, the first one also under a second
                // kind (the same person named twice: its events are stored once), and one contact
                // the API does not know.
                var references = contacts.enumerated().map { index, contact in
                    switch index % 3 {
                    case 0: ContactReference(kind: .id, value: contact.id)
                    case 1: ContactReference(kind: .unicity, value: contact.unicity)
                    default: ContactReference(kind: .hash, value: contact.hash)
                    }
                }
                if let first = contacts.first {
                    references.append(ContactReference(kind: .unicity, value: first.unicity))
                }
                references.append(ContactReference(kind: .unicity, value: "nobody@example.invalid"))
                _ = try await database.addContacts(references, now: WallClock.nowMs())

                print("np6-sync demo")
                print("  fake NP6 API  \(api.baseURL)  (\(contacts.count) contacts, seed \(seed))")
                print("  database      \(databasePath)")
                print("")

                let pass = SyncPass(
                    poller: ContactPoller(
                        client: client, database: database, windows: WindowPolicy(), schedule: SchedulePolicy(),
                        pacer: RequestPacer(requestsPerSecond: 200, wallNowMs: WallClock.nowMs),
                        wallNowMs: WallClock.nowMs),
                    maxConcurrentRequests: 8, maxAttempts: APIConfiguration().maxAttempts)
                let first = try await pass.run(logger: logger)
                print("Pass 1: first sync of \(references.count) contacts from the beginning of time")
                print(Self.describe(first))

                let arrived = await api.state.publish(count: 12, lateFraction: 0.5)
                let late = arrived.filter { $0.timestampMs < $0.arrivedMs - 1000 }.count
                print("")
                print(
                    "Meanwhile \(arrived.count) new stop events reach NP6, \(late) of them late (timestamps up to 10 minutes in the past)."
                )
                print("")

                let second = try await pass.run(logger: logger)
                print("Pass 2: from each contact's watermark, re-reading the last 15 minutes for late events")
                print(Self.describe(second))

                let status = try await database.status(now: WallClock.nowMs())
                print("")
                print("The database holds \(status.events) stop events, each once (deduplicated on the event id).")
                print("Query it while np6-sync runs (WAL mode):")
                print("")
                print("  sqlite3 -header -column \(databasePath) \\")
                print(
                    "    \"SELECT c.kind, c.value, count(*) AS stops FROM events e JOIN contacts c ON c.id = e.contact_id GROUP BY c.id ORDER BY stops DESC LIMIT 5\""
                )
                print("  sqlite3 -header -column \(databasePath) \\")
                print(
                    "    \"SELECT id, datetime(timestamp_ms / 1000, 'unixepoch') AS at, source_type, json_extract(payload, '$.source.detail.execution.recipient.unicity') AS unicity FROM events ORDER BY timestamp_ms DESC LIMIT 5\""
                )
                print("  sqlite3 -header -column \(databasePath) \\")
                print("    \"SELECT kind, value, last_status, last_error FROM contacts WHERE last_status <> 'ok'\"")
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    static func describe(_ report: SyncPass.Report) -> String {
        let run = report.run
        var line =
            "  \(run.contactsPolled) contacts polled in \(run.requests) requests: \(run.eventsNew) new events, "
            + "\(run.eventsDuplicate) duplicates skipped"
        if run.eventsQuarantined > 0 { line += ", \(run.eventsQuarantined) quarantined" }
        if !report.notFound.isEmpty {
            line +=
                "\n  not found (404, re-checked daily): " + report.notFound.map(\.description).joined(separator: ", ")
        }
        for failure in report.failures {
            line += "\n  failed: \(failure.contact): \(failure.error)"
        }
        return line
    }
}
