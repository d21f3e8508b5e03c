import GRDB
import NP6Model
import SyncStore

extension SQLiteEventStore {
    /// The enabled contacts due at `nowMs`, oldest due first, skipping `excluding` (polls in
    /// flight). Served by the `contacts_due` index: a million contacts never sit in memory.
    public func dueContacts(nowMs: Int64, limit: Int, excluding: Set<Int64>) async throws -> [StoredContact] {
        try await reading { db in
            var contacts: [StoredContact] = []
            let statement = try db.cachedStatement(
                sql: """
                    SELECT \(ContactRecord.columns) FROM contacts
                    WHERE enabled = 1 AND next_due_ms <= ? ORDER BY next_due_ms, id LIMIT ?
                    """)
            let rows = try ContactRecord.fetchCursor(statement, arguments: [nowMs, limit + excluding.count])
            while contacts.count < limit, let record = try rows.next() {
                if let contact = record.contact, !excluding.contains(contact.id) {
                    contacts.append(contact)
                }
            }
            return contacts
        }
    }

    /// When the next enabled contact falls due after `nowMs`, `nil` when none will.
    public func nextDueMs(after nowMs: Int64) async throws -> Int64? {
        try await reading { db in
            try Int64.fetchOne(
                db, sql: "SELECT min(next_due_ms) FROM contacts WHERE enabled = 1 AND next_due_ms > ?",
                arguments: [nowMs])
        }
    }

    /// Counts for the daemon's status line and its capacity check.
    public func scheduleSnapshot(nowMs: Int64, dayStartMs: Int64) async throws -> ScheduleSnapshot {
        try await reading { db in
            var snapshot = ScheduleSnapshot()
            if let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*), sum(next_due_ms <= ?), sum(last_status IS NOT NULL AND last_status <> 'ok'),
                           min(watermark_ms)
                    FROM contacts WHERE enabled = 1
                    """,
                arguments: [nowMs])
            {
                snapshot.enabledContacts = row[0]
                snapshot.dueContacts = row[1] ?? 0
                snapshot.failingContacts = row[2] ?? 0
                snapshot.oldestWatermarkMs = row[3]
            }
            snapshot.eventsToday =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM events WHERE timestamp_ms >= ?", arguments: [dayStartMs]) ?? 0
            return snapshot
        }
    }
}
