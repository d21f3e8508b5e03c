import Foundation
import GRDB
import NP6Model
import StoreTestSupport
import SyncStore
import Testing

@testable import SQLiteStore

/// Real SQLite refusals (locked past the busy timeout, full, read-only) reach the engine as
/// `SyncStoreError.unavailable` with their code; a refused group commit fails only its polls.
@Suite(.timeLimit(.minutes(2))) struct DatabaseUnavailableTests {
    func withStore<T>(_ body: (SQLiteEventStore, Int64) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteEventStore.open(
                path: directory.appendingPathComponent("test.sqlite").path, busyTimeout: .milliseconds(50))
            _ = try await store.addContacts([ContactReference(kind: .id, value: "C1")], now: 0)
            let id = try #require(try await store.contact(ContactReference(kind: .id, value: "C1"))).id
            return try await body(store, id)
        }
    }

    func finish(_ id: Int64, _ events: [StopEvent], watermarkMs: Int64) -> PollWrite {
        .finish(
            contact: PollTarget(id: id, generation: 0), events: events, malformed: [], watermarkMs: watermarkMs,
            nextDueMs: 900, now: 1)
    }

    func code(of body: () async throws -> Void) async -> DatabaseErrorCode? {
        do {
            try await body()
            return nil
        } catch SyncStoreError.unavailable(let code, _) {
            return code
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func writeLockHeldPastTheBusyTimeoutIsBusyAndPoisonsNoLaterPoll() async throws {
        try await withStore { store, id in
            let lock = try ForeignWriteLock(path: store.path)
            // One poll: a checkpointed batch, then its finish, both refused while the lock is held.
            let refused = PollWriteGroup()
            await store.submit(
                .batch(
                    contact: PollTarget(id: id, generation: 0), events: [event("a", at: 10)], malformed: [],
                    checkpoint: .advance(toMs: 10), now: 1),
                for: refused)
            await store.flushWrites()
            #expect(await code { _ = try await refused.committed() } == .busy)
            // Reads go on in WAL mode while another connection holds the write lock.
            #expect(try await store.contact(ContactReference(kind: .id, value: "C1"))?.watermarkMs == nil)
            let run = SyncRunSummary(kind: "sync", startedMs: 0, finishedMs: 0)
            #expect(await code { try await store.recordRun(run) } == .busy)
            try lock.release()

            // The refused poll's later write is refused too (its checkpoint was never stored)…
            await store.submit(finish(id, [event("b", at: 20)], watermarkMs: 500), for: refused)
            await store.flushWrites()
            #expect(await code { _ = try await refused.committed() } == .busy, "the first error is the poll's")
            #expect(try await store.eventIDs().isEmpty)
            // …while the next poll, after the lock is gone, commits as if nothing happened.
            let next = try await store.write(finish(id, [event("a", at: 10), event("b", at: 20)], watermarkMs: 500))
            #expect(next == InsertCounts(new: 2))
            #expect(try await store.contact(ContactReference(kind: .id, value: "C1"))?.watermarkMs == 500)
        }
    }

    @Test func databaseThatCannotGrowIsFull() async throws {
        try await withStore { store, id in
            // The writer may not add a page: SQLite answers SQLITE_FULL, as on a full disk.
            try await store.pool.writeWithoutTransaction { db in
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                try db.execute(sql: "PRAGMA max_page_count = \(pages)")
            }
            let events = (0..<400).map { event("e\($0)", at: Int64($0)) }
            #expect(await code { try await store.write(finish(id, events, watermarkMs: 500)) } == .full)
            #expect(try await store.eventIDs().isEmpty)
            #expect(try await store.contact(ContactReference(kind: .id, value: "C1"))?.watermarkMs == nil)
            try await store.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA max_page_count = 1000000") }
            #expect(try await store.write(finish(id, events, watermarkMs: 500)).new == 400)
        }
    }

    @Test func readOnlyDatabaseIsReadonly() async throws {
        try await withStore { store, id in
            try await store.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA query_only = 1") }
            let write = finish(id, [event("a", at: 10)], watermarkMs: 500)
            #expect(await code { try await store.write(write) } == .readonly)
            #expect(
                await code { try await store.createSinkCursor("s", startingAfterLatest: false, now: 0) } == .readonly)
            try await store.pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA query_only = 0") }
            #expect(try await store.write(write).new == 1)
        }
    }

    @Test(arguments: [
        (ResultCode.SQLITE_BUSY, DatabaseErrorCode.busy), (.SQLITE_LOCKED, .busy), (.SQLITE_FULL, .full),
        (.SQLITE_IOERR_WRITE, .ioerr), (.SQLITE_IOERR_FSYNC, .ioerr), (.SQLITE_READONLY_DBMOVED, .readonly),
        (.SQLITE_CANTOPEN, .other),
    ])
    func sqliteResultCodesAreClassified(_ result: ResultCode, _ expected: DatabaseErrorCode) {
        let mapped = SQLiteEventStore.storeError(DatabaseError(resultCode: result, message: "disk I/O error"))
        guard case SyncStoreError.unavailable(let code, let message) = mapped else {
            Issue.record("not mapped: \(mapped)")
            return
        }
        #expect(code == expected)
        #expect(message.contains("disk I/O error"))
    }

    @Test func constraintViolationIsAboutOneWriteAndPassesUnchanged() {
        let mapped = SQLiteEventStore.storeError(DatabaseError(resultCode: .SQLITE_CONSTRAINT_FOREIGNKEY))
        #expect((mapped as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT)
    }
}
