import Foundation
import GRDB
import NP6Model
import StoreTestSupport
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import SQLiteStore

/// Counts the transactions committed on a database.
final class CommitCounter: TransactionObserver, Sendable {
    private let count = Mutex(0)
    var commits: Int { count.withLock { $0 } }
    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) { count.withLock { $0 += 1 } }
    func databaseDidRollback(_ db: Database) {}
}

@Suite(.timeLimit(.minutes(5))) struct PollWriteQueueTests {
    func contactIDs(_ database: SQLiteEventStore, _ count: Int) async throws -> [Int64] {
        let references = (0..<count).map { ContactReference(kind: .id, value: "C\($0)") }
        _ = try await database.addContacts(references, now: 0)
        return try await database.pool.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM contacts ORDER BY id") }
    }

    func watermark(_ database: SQLiteEventStore, _ id: Int64) async throws -> Int64? {
        try await database.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT watermark_ms FROM contacts WHERE id = ?", arguments: [id])
        }
    }

    func finish(_ id: Int64, _ events: [StopEvent], watermarkMs: Int64 = 500) -> PollWrite {
        .finish(
            contact: PollTarget(id: id, generation: 0), events: events, malformed: [], watermarkMs: watermarkMs,
            nextDueMs: 900, now: 1)
    }

    @Test func manyPollsShareOneTransaction() async throws {
        try await withTemporarySQLiteStore { database in
            let ids = try await contactIDs(database, 100)
            let counter = CommitCounter()
            database.pool.add(transactionObserver: counter, extent: .observerLifetime)
            // The delay is on a clock that does not move: however slowly a busy machine submits,
            // no transaction starts before the flush.
            let queue = PollWriteQueue(pool: database.pool, clock: ManualClock())
            let polls = ids.map { _ in PollWriteGroup() }
            for (id, writes) in zip(ids, polls) {
                await queue.submit(
                    .batch(
                        contact: PollTarget(id: id, generation: 0), events: [event("a\(id)", at: 10)], malformed: [],
                        checkpoint: .advance(toMs: 10), now: 1),
                    for: writes)
                await queue.submit(finish(id, [event("b\(id)", at: 20)]), for: writes)
            }
            await queue.flush()
            for writes in polls { #expect(try await writes.committed() == InsertCounts(new: 2)) }
            #expect(counter.commits <= 2, "200 writes of 100 polls share a transaction or two (the delay is 100 ms)")
            #expect(try await database.eventIDs().count == 200)
            #expect(try await watermark(database, ids[99]) == 500)
        }
    }

    @Test func aWriteCommitsWithoutAFlushWithinTheDelay() async throws {
        try await withTemporarySQLiteStore { database in
            let id = try await contactIDs(database, 1)[0]
            let clock = ManualClock()
            let queue = PollWriteQueue(pool: database.pool, clock: clock)
            let writes = PollWriteGroup()
            await queue.submit(finish(id, [event("a", at: 10)]), for: writes)
            // The drainer waits for the delay, then commits.
            try await clock.waitForSleepers(1)
            clock.advance(by: PollWriteQueue.Limits().delay)
            #expect(try await writes.committed() == InsertCounts(new: 1))
            #expect(try await watermark(database, id) == 500)
        }
    }

    @Test func aFailingWriteFailsOnlyItsPollAndTheRestOfThatPollIsRefused() async throws {
        try await withTemporarySQLiteStore { database in
            let ids = try await contactIDs(database, 2)
            try await database.pool.write { db in
                try db.execute(
                    sql: """
                        CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.id = 'poison'
                        BEGIN SELECT RAISE(ABORT, 'poisoned event'); END
                        """)
            }
            let (bad, good) = (PollWriteGroup(), PollWriteGroup())
            await database.submit(
                .batch(
                    contact: PollTarget(id: ids[0], generation: 0), events: [event("poison", at: 10)], malformed: [],
                    checkpoint: .advance(toMs: 10), now: 1),
                for: bad)
            await database.submit(
                .batch(
                    contact: PollTarget(id: ids[1], generation: 0), events: [event("g1", at: 10)], malformed: [],
                    checkpoint: .advance(toMs: 10), now: 1),
                for: good)
            // Would move the watermark past the event that could not be stored: must be refused.
            await database.submit(finish(ids[0], [event("after", at: 20)]), for: bad)
            await database.submit(finish(ids[1], [event("g2", at: 20)]), for: good)
            await database.flushWrites()

            await #expect(throws: DatabaseError.self) { try await bad.committed() }
            #expect(try await good.committed() == InsertCounts(new: 2))
            #expect(try await database.eventIDs() == ["g1", "g2"])
            #expect(try await watermark(database, ids[0]) == nil, "the failed poll's watermark did not move")
            #expect(try await watermark(database, ids[1]) == 500)
        }
    }

    @Test func anErrorThatIsNotAConstraintFailsTheWholeTransactionWithoutRetries() async throws {
        try await withTemporarySQLiteStore { database in
            let ids = try await contactIDs(database, 2)
            // Not a constraint (SQLITE_ERROR), like a full disk or a lock held past the busy
            // timeout: retrying each write would only repeat it, one timeout each.
            try await database.pool.write { db in
                try db.execute(
                    sql: """
                        CREATE TRIGGER broken BEFORE INSERT ON events WHEN NEW.id = 'broken'
                        BEGIN SELECT json('{'); END
                        """)
            }
            let (first, second) = (PollWriteGroup(), PollWriteGroup())
            await database.submit(finish(ids[0], [event("broken", at: 10)]), for: first)
            await database.submit(finish(ids[1], [event("fine", at: 10)]), for: second)
            await database.flushWrites()
            // Both polls learn it as the store's error, which the engine backs off on.
            for group in [first, second] {
                await #expect {
                    try await group.committed()
                } throws: { error in
                    guard case .unavailable(.other, let message) = error as? SyncStoreError else { return false }
                    return message.contains("malformed JSON")
                }
            }
            #expect(try await database.eventIDs().isEmpty)
            #expect(try await watermark(database, ids[1]) == nil)
        }
    }

    @Test func submitWaitsWhileTheQueueIsFullAndEverythingIsStored() async throws {
        try await withTemporarySQLiteStore { database in
            let id = try await contactIDs(database, 1)[0]
            var limits = PollWriteQueue.Limits()
            let eventBytes = event("e0-0", at: 0).payload.count
            (limits.transactionBytes, limits.queuedBytes, limits.delay) = (
                50 * eventBytes, 100 * eventBytes, .seconds(10)
            )
            let queue = PollWriteQueue(pool: database.pool, limits: limits, clock: ManualClock())
            let counter = CommitCounter()
            database.pool.add(transactionObserver: counter, extent: .observerLifetime)
            let writes = PollWriteGroup()
            for batch in 0..<40 {
                let events = (0..<25).map { event("e\(batch)-\($0)", at: Int64(batch)) }
                await queue.submit(
                    .batch(
                        contact: PollTarget(id: id, generation: 0), events: events, malformed: [],
                        checkpoint: .advance(toMs: Int64(batch)), now: 1),
                    for: writes)
            }
            await queue.flush()
            #expect(try await writes.committed() == InsertCounts(new: 1000))
            // Transactions start at about 50 queued events, without waiting for the 10 s delay.
            #expect(counter.commits >= 5)
            #expect(try await watermark(database, id) == 39)
        }
    }

    @Test func flushWithNothingQueuedReturnsAtOnce() async throws {
        try await withTemporarySQLiteStore { database in
            await database.flushWrites()
        }
    }
}
