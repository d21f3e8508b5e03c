import GRDB
import NP6Client

/// What the daemon's one-line status and capacity check need, counted in one read.
public struct ScheduleSnapshot: Sendable, Hashable {
    public var enabledContacts = 0
    public var dueContacts = 0
    public var failingContacts = 0
    /// Stored events stamped since `dayStartMs` (served by the `events_timestamp` index).
    public var eventsToday = 0
    /// The enabled contact furthest behind; `nil` when none has completed a poll.
    public var oldestWatermarkMs: Int64?
}

extension SyncDatabase {
    /// The enabled contacts due at `nowMs`, oldest due first, skipping `excluding` (polls in
    /// flight). Served by the `contacts_due` index: a million contacts never sit in memory.
    public func dueContacts(nowMs: Int64, limit: Int, excluding: Set<Int64> = []) async throws -> [StoredContact] {
        try await pool.read { db in
            var contacts: [StoredContact] = []
            let statement = try db.cachedStatement(sql: """
                SELECT \(StoredContact.columns) FROM contacts
                WHERE enabled = 1 AND next_due_ms <= ? ORDER BY next_due_ms, id LIMIT ?
                """)
            let rows = try Row.fetchCursor(statement, arguments: [nowMs, limit + excluding.count])
            while contacts.count < limit, let row = try rows.next() {
                if let contact = StoredContact(row: row), !excluding.contains(contact.id) {
                    contacts.append(contact)
                }
            }
            return contacts
        }
    }

    /// When the next enabled contact falls due after `nowMs`, `nil` when none will.
    public func nextDueMs(after nowMs: Int64) async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT min(next_due_ms) FROM contacts WHERE enabled = 1 AND next_due_ms > ?", arguments: [nowMs])
        }
    }

    /// Counts for the daemon's status line and its capacity check.
    public func scheduleSnapshot(nowMs: Int64, dayStartMs: Int64) async throws -> ScheduleSnapshot {
        try await pool.read { db in
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
            snapshot.eventsToday = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM events WHERE timestamp_ms >= ?", arguments: [dayStartMs]) ?? 0
            return snapshot
        }
    }
}
