import Foundation
import GRDB
import Logging
import PostgresNIO
import PostgresStore
import SQLiteStore
import SyncStore
import Synchronization

// The reads only tests make, kept out of the store's roles: no caller of the engine needs them.

extension ReportStore {
    /// Every stored event id, for checks that compare the database with the API's data.
    public func eventIDs() async throws -> Set<String> {
        let ids = Mutex(Set<String>())
        try await forEachEvent { event in ids.withLock { _ = $0.insert(event.id) } }
        return ids.withLock { $0 }
    }
}

extension EventStore {
    /// The rows of `quarantine`, oldest first, read with a connection of the test's own.
    public func quarantinedElements() async throws -> [QuarantinedElement] {
        switch self {
        case let store as SQLiteEventStore:
            return try await DatabaseQueue(path: store.path).read { db in
                try Row.fetchAll(db, sql: "SELECT contact_id, reason, raw FROM quarantine ORDER BY id").map { row in
                    QuarantinedElement(
                        contactID: row["contact_id"], reason: row["reason"], raw: [UInt8](row["raw"] as Data))
                }
            }
        case let store as PostgresEventStore:
            return try await PostgresTestServer.configured().withConnection(to: store.endpoint.database) {
                connection, logger in
                var elements: [QuarantinedElement] = []
                let rows = try await connection.query(
                    "SELECT contact_id, reason, raw FROM quarantine ORDER BY id", logger: logger)
                for try await (contactID, reason, raw) in rows.decode((Int64?, String, ByteBuffer).self) {
                    elements.append(QuarantinedElement(contactID: contactID, reason: reason, raw: Array(buffer: raw)))
                }
                return elements
            }
        default:
            throw UnknownStore(description: "no quarantine reader for \(type(of: self))")
        }
    }
}

struct UnknownStore: Error, CustomStringConvertible {
    var description: String
}
