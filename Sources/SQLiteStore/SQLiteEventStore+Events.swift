import Foundation
import GRDB
import NP6Client

extension SyncDatabase {
    /// Queues one of a poll's writes for group commit (see `PollWriteQueue`); waits only while
    /// the queue is full. `writes.committed()` tells when it is stored.
    public func submit(_ write: PollWrite, for writes: PollWrites) async {
        await writeQueue.submit(write, for: writes)
    }

    /// Commits the queued writes now instead of when a transaction fills up or its delay ends, and
    /// returns once every write submitted before the call is committed.
    public func flushWrites() async {
        await writeQueue.flush()
    }

    /// Submits one write and waits until it is committed: the pollers' path, for a single write.
    @discardableResult
    public func write(_ write: PollWrite) async throws -> InsertCounts {
        let writes = PollWrites()
        await submit(write, for: writes)
        await flushWrites()
        return try await writes.committed()
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
