import Foundation
import GRDB
import NP6Client

extension SyncDatabase {
    /// Stores part of a body still streaming in: its events (deduplicated on `id`) and malformed
    /// elements, and, when `checkpointMs` is given, moves the watermark up to it in the same
    /// transaction. Pass a checkpoint only for a sorted body: every event before it has been seen.
    public func storeBatch(
        contactID: Int64,
        events: [StopEvent],
        malformed: [MalformedElement],
        checkpointMs: Int64?,
        now: Int64
    ) async throws -> InsertCounts {
        try await pool.write { db in
            let counts = try Self.insert(events, malformed, contactID: contactID, now: now, db)
            if let checkpointMs {
                try db.cachedStatement(sql: """
                    UPDATE contacts SET watermark_ms = MAX(COALESCE(watermark_ms, ?1), ?1) WHERE id = ?2
                    """
                ).execute(arguments: [checkpointMs, contactID])
            }
            return counts
        }
    }

    /// Stores the last part of a complete body, sets the watermark to the window's end and records
    /// the successful poll: one transaction, so a crash leaves either all of it or none of it.
    public func finishPoll(
        contactID: Int64,
        events: [StopEvent],
        malformed: [MalformedElement],
        watermarkMs: Int64,
        nextDueMs: Int64,
        now: Int64
    ) async throws -> InsertCounts {
        try await pool.write { db in
            let counts = try Self.insert(events, malformed, contactID: contactID, now: now, db)
            try db.cachedStatement(sql: """
                UPDATE contacts SET watermark_ms = MAX(COALESCE(watermark_ms, ?1), ?1),
                    last_attempt_ms = ?2, last_success_ms = ?2, last_status = 'ok', last_error = NULL,
                    consecutive_failures = 0, next_due_ms = ?3
                WHERE id = ?4
                """
            ).execute(arguments: [watermarkMs, now, nextDueMs, contactID])
            return counts
        }
    }

    /// Records a failed poll; the watermark is left where the last stored batch put it.
    public func recordPollFailure(
        contactID: Int64,
        status: ContactStatus,
        error: String,
        nextDueMs: Int64,
        now: Int64
    ) async throws {
        try await pool.write { db in
            try db.cachedStatement(sql: """
                UPDATE contacts SET last_attempt_ms = ?, last_status = ?, last_error = ?,
                    consecutive_failures = consecutive_failures + 1, next_due_ms = ?
                WHERE id = ?
                """
            ).execute(arguments: [now, status.rawValue, error, nextDueMs, contactID])
        }
    }

    private static func insert(
        _ events: [StopEvent],
        _ malformed: [MalformedElement],
        contactID: Int64,
        now: Int64,
        _ db: Database
    ) throws -> InsertCounts {
        var counts = InsertCounts()
        if !events.isEmpty {
            let statement = try db.cachedStatement(sql: """
                INSERT INTO events (id, contact_id, type, timestamp_ms, identity_type, source_type, payload, received_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO NOTHING
                """)
            for event in events {
                try statement.execute(arguments: [
                    event.id, contactID, event.type, event.timestampMs, event.identityType, event.sourceType,
                    String(decoding: event.payload, as: UTF8.self), now,
                ])
                if db.changesCount > 0 { counts.new += 1 } else { counts.duplicate += 1 }
            }
        }
        if !malformed.isEmpty {
            // The same bad element re-read by an overlapping window is kept once.
            let statement = try db.cachedStatement(sql: """
                INSERT INTO quarantine (contact_id, reason, raw, received_ms) VALUES (?, ?, ?, ?)
                ON CONFLICT (contact_id, raw) DO NOTHING
                """)
            for element in malformed {
                try statement.execute(arguments: [contactID, element.reason, Data(element.raw), now])
            }
            counts.quarantined = malformed.count
        }
        return counts
    }

    /// Calls `body` for each stored event matching the filter, in `seq` order, without loading
    /// them all: the CLI prints millions this way.
    public func forEachEvent(
        contact: ContactReference? = nil,
        sinceMs: Int64? = nil,
        limit: Int? = nil,
        _ body: (StoredEvent) throws -> Void
    ) throws {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let contact {
            conditions.append("c.kind = ? AND c.value = ?")
            arguments += [contact.kind.rawValue, contact.value]
        }
        if let sinceMs {
            conditions.append("e.timestamp_ms >= ?")
            arguments += [sinceMs]
        }
        var sql = StoredEvent.selection
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY e.seq"
        if let limit {
            sql += " LIMIT ?"
            arguments += [limit]
        }
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                try body(StoredEvent(row: row))
            }
        }
    }

    /// Every stored event id, for checks that compare the database with the API's data.
    public func eventIDs() async throws -> Set<String> {
        try await pool.read { db in try Set(String.fetchCursor(db, sql: "SELECT id FROM events")) }
    }

    /// The quarantined elements' reasons and bytes, oldest first.
    public func quarantined() throws -> [(contactID: Int64?, reason: String, raw: [UInt8])] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT contact_id, reason, raw FROM quarantine ORDER BY id").map { row in
                (row[0], row[1], [UInt8](row[2] as Data))
            }
        }
    }
}
