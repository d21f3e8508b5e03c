import Foundation
import GRDB
import NP6Model
import SyncStore

/// The SQLite store, np6-sync's embedded default: every SQL statement the product runs against
/// SQLite lives behind this façade.
///
/// One `DatabasePool` in WAL mode, so `sqlite3 np6-sync.sqlite 'select …'` works while np6-sync
/// writes. Migrations run on open. Each write method keeps one invariant in one transaction; the
/// central one is "events and watermark together" (`PollWrite+SQLite`). The pollers' writes are
/// group-committed through `PollWriteQueue`.
public final class SQLiteEventStore: EventStore {
    /// The database file's path, as given.
    public let path: String
    public var location: String { path }
    let pool: DatabasePool
    let writeQueue: PollWriteQueue

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// A new file is created readable by its owner only: stop events are personal data.
    /// - Parameter busyTimeout: how long a write waits for another connection's lock (a
    ///   `contacts import`, an operator's open `sqlite3` transaction, a backup) before it fails
    ///   with `SyncStoreError.unavailable(code: .busy, …)`; tests shorten it.
    /// - Throws: `SyncStoreError.newerSchema` for a file written by a newer np6-sync (left
    ///   untouched), `SyncStoreError.unavailable` when another connection holds the write lock
    ///   past the busy timeout (opening writes: GRDB makes sure the WAL file is not empty, and
    ///   migrations), `SyncStoreError.cannotOpen` when SQLite refuses the file.
    public static func open(
        path: String, busyTimeout: Duration = .seconds(10)
    ) throws(SyncStoreError)
        -> SQLiteEventStore
    {
        do {
            // Opening for writing first names the plain problems (read-only file system, permission).
            try createPrivateFileIfMissing(path)
            try refuseNewerSchema(path)
            var configuration = Configuration()
            configuration.busyMode = .timeout(
                Double(busyTimeout.components.seconds) + Double(busyTimeout.components.attoseconds) / 1e18)
            configuration.prepareDatabase { db in
                // NORMAL is durable across process crashes in WAL mode; only power loss can drop
                // the last commits, which the next poll re-reads (the watermark moved with them).
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // Checkpoint every ~40 MB of WAL instead of every 4 MB: a page that many commits
                // change (the events' indexes) is copied back once per checkpoint, not once per
                // few commits. A backfill of 400,000 events took 18 % less time; memory is the same.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Schema.migrator.migrate(pool)
            return SQLiteEventStore(path: path, pool: pool)
        } catch let error as SyncStoreError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw .unavailable(
                code: .busy, message: "\(path): SQLite error 5: \(error.message ?? "database is locked")")
        } catch let error as DatabaseError {
            throw .cannotOpen(path: path, reason: error.message ?? error.description)
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// Opens the database at `path` for reading only, as `status` and `events` need it: this
    /// works while another connection holds the write lock (a long import, an operator's
    /// `sqlite3` transaction), which ``open(path:busyTimeout:)`` waits for. Falls back to
    /// ``open(path:busyTimeout:)`` when the file is missing, has an older schema, or cannot be
    /// read without writing (no WAL file yet, when nothing else has it open).
    public static func openForReading(path: String) throws(SyncStoreError) -> SQLiteEventStore {
        if let version = try? schemaVersion(readOnlyAt: path), version == Schema.knownVersion {
            var configuration = Configuration()
            configuration.readonly = true
            if let pool = try? DatabasePool(path: path, configuration: configuration),
                (try? pool.read({ db in try Int.fetchOne(db, sql: "PRAGMA user_version") })) != nil
            {
                return SQLiteEventStore(path: path, pool: pool)
            }
        }
        return try open(path: path)
    }

    init(path: String, pool: DatabasePool) {
        self.path = path
        self.pool = pool
        self.writeQueue = PollWriteQueue(pool: pool)
    }

    /// The schema version of the open file (`PRAGMA user_version`).
    public func schemaVersion() async throws -> Int {
        try await reading { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
    }

    /// The UUID made with the schema (`meta.database_id`).
    public func databaseID() async throws -> String {
        try await pool.read { db in
            guard let id = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'database_id'") else {
                throw SyncStoreError.cannotOpen(path: self.path, reason: "meta.database_id is missing")
            }
            return id
        }
    }

    /// Reads the schema version of an existing file through a read-only connection, so that a
    /// file from a newer np6-sync is refused before anything (even WAL mode) is written to it.
    private static func refuseNewerSchema(_ path: String) throws {
        guard let found = try schemaVersion(readOnlyAt: path) else { return }
        guard found <= Schema.knownVersion else {
            throw SyncStoreError.newerSchema(path: path, found: found, known: Schema.knownVersion)
        }
    }

    /// The schema version of an existing, non-empty file, read without writing anything.
    private static func schemaVersion(readOnlyAt path: String) throws -> Int? {
        guard let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber,
            size.intValue > 0
        else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
            try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        }
    }

    private static func createPrivateFileIfMissing(_ path: String) throws {
        let fd = Foundation.open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SyncStoreError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        close(fd)
    }
}
