import GRDB
import SyncStore

/// The SQLite side of group commit: every queued write of a transaction applied with
/// `PollWrite.apply(_:)` in one `pool.write`.
struct SQLitePollWriteCommitter: PollWriteCommitter {
    let pool: DatabasePool

    func commit(_ writes: [PollWrite]) async throws -> [InsertCounts] {
        try await pool.write { db in try writes.map { try $0.apply(db) } }
    }

    func concernsOneWrite(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT
    }

    func storeError(_ error: any Error) -> any Error {
        SQLiteEventStore.storeError(error)
    }
}

extension PollWriteQueue {
    /// The queue of a SQLite database's pollers' writes.
    convenience init(pool: DatabasePool, limits: Limits = Limits(), clock: any Clock<Duration> = ContinuousClock()) {
        self.init(committer: SQLitePollWriteCommitter(pool: pool), limits: limits, clock: clock)
    }
}
