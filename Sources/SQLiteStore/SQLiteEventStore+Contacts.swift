import GRDB
import NP6Model
import SyncStore

extension SQLiteEventStore {
    /// Adds the contacts that `produce` hands to `add`, one by one, in a single transaction: when
    /// `produce` throws, nothing is added. `produce` runs on the database's writer and may read a
    /// file as it goes, so a million contacts are imported without being held in memory.
    /// - Returns: what was added, and what `produce` returned.
    public func addContacts<Produced: Sendable>(
        now: Int64,
        _ produce: @escaping @Sendable (_ add: (ContactReference) throws -> Void) throws -> Produced
    ) async throws -> (added: AddedContacts, produced: Produced) {
        try await writing { db in
            var result = AddedContacts()
            // The references seen in this call: SQLite's temporary storage, not this process's memory.
            try db.execute(
                sql: """
                    CREATE TEMP TABLE IF NOT EXISTS adding (kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value))
                        WITHOUT ROWID;
                    DELETE FROM temp.adding;
                    """)
            defer { try? db.execute(sql: "DELETE FROM temp.adding") }
            let seen = try db.cachedStatement(
                sql: "INSERT INTO temp.adding (kind, value) VALUES (?, ?) ON CONFLICT DO NOTHING")
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO contacts (kind, value, enabled, next_due_ms, added_ms) VALUES (?, ?, 1, ?, ?)
                    ON CONFLICT (kind, value) DO NOTHING
                    """)
            let enable = try db.cachedStatement(
                sql: """
                    UPDATE contacts SET enabled = 1, next_due_ms = MIN(next_due_ms, ?)
                    WHERE kind = ? AND value = ? AND enabled = 0
                    """)
            let produced = try produce { reference in
                try seen.execute(arguments: [reference.kind.rawValue, reference.value])
                guard db.changesCount > 0 else {
                    result.repeated += 1
                    return
                }
                try insert.execute(arguments: [reference.kind.rawValue, reference.value, now, now])
                if db.changesCount > 0 {
                    result.added += 1
                    return
                }
                try enable.execute(arguments: [now, reference.kind.rawValue, reference.value])
                if db.changesCount > 0 { result.reenabled += 1 } else { result.unchanged += 1 }
            }
            return (result, produced)
        }
    }

    /// Stops polling a contact. Its row stays, so that its stored events keep their contact;
    /// adding it again resumes from its watermark. Returns false when no such contact is enabled.
    public func removeContact(_ reference: ContactReference) async throws -> Bool {
        try await writing { db in
            try db.execute(
                sql: """
                    UPDATE contacts SET enabled = 0, generation = generation + 1
                    WHERE kind = ? AND value = ? AND enabled = 1
                    """,
                arguments: [reference.kind.rawValue, reference.value])
            return db.changesCount > 0
        }
    }

    /// One contact by reference, enabled or not.
    public func contact(_ reference: ContactReference) async throws -> StoredContact? {
        try await reading { db in
            try ContactRecord.fetchOne(
                db, sql: "SELECT \(ContactRecord.columns) FROM contacts WHERE kind = ? AND value = ?",
                arguments: [reference.kind.rawValue, reference.value]
            ).flatMap(\.contact)
        }
    }

    /// A page of contacts in `id` order, after `afterID`: paging keeps a million contacts out of memory.
    public func contacts(afterID: Int64, limit: Int, enabledOnly: Bool) async throws -> [StoredContact] {
        try await reading { db in
            try ContactRecord.fetchAll(
                db,
                sql: """
                    SELECT \(ContactRecord.columns) FROM contacts
                    WHERE id > ? AND (enabled = 1 OR ? = 0) ORDER BY id LIMIT ?
                    """,
                arguments: [afterID, enabledOnly, limit]
            ).compactMap(\.contact)
        }
    }

    /// Sets a contact's watermark (the operator's tool to re-sync from a point); `nil` re-reads
    /// from `sync.initialStart`. The contact becomes due at once. Returns false for an unknown contact.
    public func setWatermark(_ reference: ContactReference, to watermarkMs: Int64?, now: Int64) async throws -> Bool {
        try await writing { db in
            try db.execute(
                sql: """
                    UPDATE contacts SET watermark_ms = ?, next_due_ms = ?, generation = generation + 1
                    WHERE kind = ? AND value = ?
                    """,
                arguments: [watermarkMs, now, reference.kind.rawValue, reference.value])
            return db.changesCount > 0
        }
    }

    /// Makes the named enabled contacts due now; returns the references that are not enabled contacts.
    public func recheckContacts(_ references: [ContactReference], now: Int64) async throws -> [ContactReference] {
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE contacts SET next_due_ms = MIN(next_due_ms, ?), generation = generation + 1
                    WHERE kind = ? AND value = ? AND enabled = 1
                    """)
            return try references.filter { reference in
                try statement.execute(arguments: [now, reference.kind.rawValue, reference.value])
                return db.changesCount == 0
            }
        }
    }

    /// Makes every enabled `not_found` contact due now; returns how many.
    public func recheckNotFoundContacts(now: Int64) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE contacts SET next_due_ms = MIN(next_due_ms, ?), generation = generation + 1
                    WHERE enabled = 1 AND last_status = ?
                    """,
                arguments: [now, ContactStatus.notFound.rawValue])
            return db.changesCount
        }
    }

    /// Brings back watermarks and due times that a clock ahead of the API's left in its future.
    public func bringBackFutureTimes(
        watermarksAfterMs: Int64, dueTimesAfterMs: Int64?, notFoundDueTimesAfterMs: Int64?, toMs: Int64
    ) async throws -> Int {
        try await pool.write { db in
            var changed = Set<Int64>()
            // min(NULL, x) is NULL: a contact without events is re-read from sync.initialStart.
            changed.formUnion(
                try Int64.fetchAll(
                    db,
                    sql: """
                        UPDATE contacts
                        SET watermark_ms = (SELECT min(max(timestamp_ms), ?) FROM events WHERE contact_id = contacts.id)
                        WHERE watermark_ms > ? RETURNING id
                        """,
                    arguments: [toMs, watermarksAfterMs]))
            if let dueTimesAfterMs {
                changed.formUnion(
                    try Int64.fetchAll(
                        db,
                        sql: """
                            UPDATE contacts SET next_due_ms = ?
                            WHERE next_due_ms > (CASE WHEN last_status = ? THEN ? ELSE ? END) RETURNING id
                            """,
                        arguments: [
                            toMs, ContactStatus.notFound.rawValue, notFoundDueTimesAfterMs ?? dueTimesAfterMs,
                            dueTimesAfterMs,
                        ]))
            }
            return changed.count
        }
    }
}
