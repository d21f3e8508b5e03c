import Foundation
import GRDB
import NP6Model
import SyncStore
import Testing

@testable import SQLiteStore

/// What only the SQLite store promises: a private file in WAL mode, plain-SQL defaults,
/// migrations, and a file from a newer version left untouched. The store contract is in
/// `SyncStoreTests`.
@Suite(.timeLimit(.minutes(5))) struct SQLiteEventStoreTests {
    @Test func newFileIsPrivateAndInWALMode() async throws {
        try await withTemporarySQLiteStore { database in
            #expect(try await database.schemaVersion() == SchemaStep.current.version)
            let attributes = try FileManager.default.attributesOfItem(atPath: database.path)
            let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
            #expect(permissions & 0o077 == 0, "other users must not read stop events")
            let journal = try await database.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
        }
    }

    /// Issue 18: `createSinkCursor` force-unwrapped the row it had just inserted; a trigger that
    /// drops the insert (or a row deleted meanwhile) trapped the daemon. Now an error to retry.
    @Test func sinkCursorThatCannotBeCreatedIsAnErrorNotATrap() async throws {
        try await withTemporarySQLiteStore { database in
            try await database.pool.write { db in
                try db.execute(
                    sql: "CREATE TRIGGER drop_cursor BEFORE INSERT ON sink_cursors BEGIN SELECT RAISE(IGNORE); END")
            }
            await #expect(throws: SyncStoreError.self) {
                try await database.createSinkCursor("crm", startingAfterLatest: false, now: 1)
            }
            try await database.pool.write { db in try db.execute(sql: "DROP TRIGGER drop_cursor") }
            #expect(try await database.createSinkCursor("crm", startingAfterLatest: false, now: 2).deliveredSeq == 0)
        }
    }

    @Test func contactAddedByPlainSQLGetsDefaults() async throws {
        try await withTemporarySQLiteStore { database in
            try await database.pool.write { db in
                try db.execute(
                    sql: "INSERT INTO contacts (kind, value) VALUES ('hash', '0441619ab4631d18548aa8835dd2c28b')")
            }
            let contact = try #require(try await database.contacts(limit: 10, enabledOnly: true).first)
            #expect(contact.enabled)
            #expect(contact.nextDueMs == 0)
            #expect(contact.watermarkMs == nil)
            #expect(contact.addedMs > 1_600_000_000_000)
        }
    }

    @Test func databaseFromTheFutureIsRefusedUntouched() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("future.sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE future (x); PRAGMA user_version = 99")
            }
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect {
            _ = try SQLiteEventStore.open(path: path)
        } throws: { error in
            guard case .newerSchema(_, 99, Schema.knownVersion) = error as? SyncStoreError else { return false }
            return "\(error)".contains("newer")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func migrationToVersion2KeepsExistingCursors() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("v1.sqlite").path
        // A database as version 1 left it, with a cursor written by hand.
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: Schema.migrator.migrations[0])
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO sink_cursors (sink, delivered_seq, updated_ms) VALUES ('crm', 7, 5)")
            }
            #expect(try await queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") } == 1)
        }
        let database = try SQLiteEventStore.open(path: path)
        #expect(try await database.schemaVersion() == SchemaStep.current.version)
        let cursor = try #require(try await database.sinkCursor("crm"))
        #expect(cursor.deliveredSeq == 7)
        #expect(cursor.state == .running)
        #expect(cursor.consecutiveFailures == 0)
        #expect(cursor.deliveryGeneration == 1, "version 4: an existing cursor is in its first generation")
        // Version 4 made the database's identity; it stays with the file.
        let id = try await database.databaseID()
        #expect(UUID(uuidString: id) != nil)
        #expect(try await SQLiteEventStore.open(path: path).databaseID() == id)
    }

    @Test func fileAtVersion4RecordsTheStepsOnlySharedDatabasesNeedAndKeepsItsTables() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("v4.sqlite").path
        func schema() throws -> [String] {
            try DatabaseQueue(path: path).read { db in
                try String.fetchAll(
                    db,
                    sql: "SELECT sql FROM sqlite_master WHERE name NOT LIKE 'grdb%' AND sql IS NOT NULL ORDER BY name")
            }
        }
        // A database as np6-sync left it when SQLite's history ended at version 4.
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: "v4: database identity, sink delivery generations")
            #expect(try await queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") } == 4)
        }
        let before = try schema()
        let database = try SQLiteEventStore.open(path: path)
        #expect(try await database.schemaVersion() == SchemaStep.current.version)
        #expect(try schema() == before, "steps 5 to 7 are no-ops on SQLite")
    }

    @Test func conflictingCopyIsKeptInEventConflicts() async throws {
        try await withTemporarySQLiteStore { database in
            let alice = ContactReference(kind: .id, value: "ALICE")
            let bob = ContactReference(kind: .id, value: "BOB")
            _ = try await database.addContacts([alice, bob], now: 1)
            let first = try #require(try await database.contact(alice))
            let second = try #require(try await database.contact(bob))
            func stop(_ raw: String) -> StopEvent {
                StopEvent(
                    id: "e1", timestampMs: 10, type: nil, identityType: nil, sourceType: nil, payload: Array(raw.utf8))
            }
            try await database.write(
                .batch(
                    contact: first.pollTarget, events: [stop(#"{"id":"e1","a":1}"#)], malformed: [], checkpoint: nil,
                    now: 2))
            for _ in 0..<2 {
                try await database.write(
                    .batch(
                        contact: second.pollTarget, events: [stop(#"{"id":"e1","a":2}"#)], malformed: [],
                        checkpoint: nil,
                        now: 3))
            }
            let rows = try await database.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT event_id, contact_id, payload, received_ms FROM event_conflicts")
            }
            #expect(rows.count == 1)
            #expect(rows.first?["event_id"] == "e1")
            #expect(rows.first?["contact_id"] == second.id)
            #expect(rows.first?["payload"] == #"{"id":"e1","a":2}"#)
            #expect(rows.first?["received_ms"] == 3)
        }
    }

    @Test func migrationToVersion3KeepsContactsAtGenerationZero() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("v2.sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: Schema.migrator.migrations[1])
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO contacts (kind, value, watermark_ms) VALUES ('id', 'OLD', 5)")
            }
        }
        let database = try SQLiteEventStore.open(path: path)
        #expect(try await database.schemaVersion() == SchemaStep.current.version)
        let contact = try #require(try await database.contact(ContactReference(kind: .id, value: "OLD")))
        #expect(contact.generation == 0)
        #expect(contact.watermarkMs == 5)
        #expect(
            try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM event_conflicts") }
                == 0)
    }
}
