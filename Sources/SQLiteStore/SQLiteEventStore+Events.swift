import Foundation
import GRDB
import NP6Model
import SyncStore

extension SQLiteEventStore {
    /// Queues one of a poll's writes for group commit (see `PollWriteQueue`); waits only while
    /// the queue is full. `writes.committed()` tells when it is stored.
    public func submit(_ write: PollWrite, for group: PollWriteGroup) async {
        await writeQueue.submit(write, for: group)
    }

    /// Commits the queued writes now instead of when a transaction fills up or its delay ends, and
    /// returns once every write submitted before the call is committed.
    public func flushWrites() async {
        await writeQueue.flush()
    }

    /// Calls `body` for each stored event matching the filter, in `seq` order, without loading
    /// them all: the CLI prints millions this way.
    public func forEachEvent(
        contact: ContactReference?,
        sinceMs: Int64?,
        limit: Int?,
        _ body: @escaping @Sendable (StoredEvent) throws -> Void
    ) async throws {
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
        var sql = EventRecord.selection
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY e.seq"
        if let limit {
            sql += " LIMIT ?"
            arguments += [limit]
        }
        try await reading { [sql, arguments] db in
            let records = try EventRecord.fetchCursor(db, sql: sql, arguments: arguments)
            while let record = try records.next() {
                try body(record.event)
            }
        }
    }
}
