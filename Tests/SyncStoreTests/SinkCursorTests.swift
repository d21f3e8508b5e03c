import Foundation
import GRDB
import NP6Client
import Testing

@testable import SyncStore

@Suite(.timeLimit(.minutes(5))) struct SinkCursorTests {
    let alice = ContactReference(kind: .unicity, value: "alice@example.com")

    /// Stores events `e1`…`eN` (seq 1…N) for alice, received at `now`.
    func store(_ count: Int, from first: Int = 1, in database: SyncDatabase, now: Int64 = 1_000) async throws {
        _ = try await database.addContacts([alice], now: 1)
        let id = try #require(try await database.contact(alice)).id
        let events = (first..<(first + count)).map { event("e\($0)", at: Int64($0)) }
        _ = try await database.write(.batch(contactID: id, events: events, malformed: [], checkpointMs: nil, now: now))
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
        let database = try SyncDatabase.open(path: path)
        #expect(try database.schemaVersion() == 2)
        let cursor = try #require(try await database.sinkCursor("crm"))
        #expect(cursor.deliveredSeq == 7)
        #expect(cursor.state == .running)
        #expect(cursor.consecutiveFailures == 0)
    }

    @Test func newSinkStartsAtTheBeginningOrAfterTheLatestEventOnce() async throws {
        try await withTemporaryDatabase { database in
            try await store(5, in: database)
            #expect(try await database.createSinkCursor("archive", startingAfterLatest: false, now: 2).deliveredSeq == 0)
            #expect(try await database.createSinkCursor("crm", startingAfterLatest: true, now: 2).deliveredSeq == 5)
            try await store(3, from: 6, in: database)
            // Created once: a later start, whatever it says, keeps the cursor.
            #expect(try await database.createSinkCursor("archive", startingAfterLatest: true, now: 3).deliveredSeq == 0)
            #expect(try await database.createSinkCursor("crm", startingAfterLatest: false, now: 3).deliveredSeq == 5)
            let batch = try #require(try await database.pendingBatch(for: "crm", limit: 10))
            #expect(batch.events.map(\.id) == ["e6", "e7", "e8"])
            #expect(batch.events.first?.contact == alice)
        }
    }

    @Test func cursorAdvancesOnlyFromWhereTheBatchWasRead() async throws {
        try await withTemporaryDatabase { database in
            try await store(10, in: database)
            try await database.createSinkCursor("crm", startingAfterLatest: false, now: 2)
            let batch = try #require(try await database.pendingBatch(for: "crm", limit: 4))
            #expect(batch.events.map(\.seq) == [1, 2, 3, 4])
            #expect(try await database.advanceSinkCursor("crm", from: 0, to: 4, now: 3))
            // A replay moves it back while the next batch is out: the stale advance is refused.
            _ = try await database.rewindSinkCursor("crm", toRedeliverFromSeq: 2, now: 4)
            #expect(try await database.advanceSinkCursor("crm", from: 4, to: 8, now: 5) == false)
            #expect(try await database.sinkCursor("crm")?.deliveredSeq == 1)
        }
    }

    @Test func replayNeverMovesTheCursorForwardAndResumesAStoppedSink() async throws {
        try await withTemporaryDatabase { database in
            try await store(10, in: database, now: 1_000)
            try await store(5, from: 11, in: database, now: 9_000)
            try await database.createSinkCursor("crm", startingAfterLatest: false, now: 2)
            try await database.advanceSinkCursor("crm", from: 0, to: 12, now: 3)
            try await database.recordSinkFailure("crm", state: .stopped, error: "HTTP 400: bad", now: 4)
            #expect(try await database.sinkCursor("crm")?.state == .stopped)

            let back = try await database.rewindSinkCursor("crm", toRedeliverFromSeq: 5, now: 5)
            #expect(back == SinkRewind(previousSeq: 12, deliveredSeq: 4))
            let cursor = try #require(try await database.sinkCursor("crm"))
            #expect(cursor.state == .running)
            #expect(cursor.consecutiveFailures == 0)
            let forward = try await database.rewindSinkCursor("crm", toRedeliverFromSeq: 14, now: 6)
            #expect(forward.deliveredSeq == 4, "a replay never skips undelivered events")

            try await database.advanceSinkCursor("crm", from: 4, to: 15, now: 7)
            // Events 11… were stored at 9 000: "since 5 000" means from seq 11 on.
            #expect(try await database.rewindSinkCursor("crm", toRedeliverSinceMs: 5_000, now: 8).deliveredSeq == 10)
            // Nothing since then: the cursor stays.
            #expect(try await database.rewindSinkCursor("crm", toRedeliverSinceMs: 50_000, now: 9).deliveredSeq == 10)
            // A sink that never ran gets its cursor from the replay.
            #expect(try await database.rewindSinkCursor("new", toRedeliverFromSeq: 3, now: 10) == SinkRewind(previousSeq: nil, deliveredSeq: 2))
        }
    }

    @Test func deadLetterIsRecordedWithTheCursorAndResentOnce() async throws {
        try await withTemporaryDatabase { database in
            try await store(3, in: database)
            try await database.createSinkCursor("crm", startingAfterLatest: false, now: 2)
            let events = try #require(try await database.pendingBatch(for: "crm", limit: 10)).events
            try await database.advanceSinkCursor("crm", from: 0, to: 1, now: 3)
            #expect(try await database.recordDeadLetter("crm", event: events[1], answer: "HTTP 422: no", advancingCursorFrom: 1, now: 4))
            // From a stale cursor nothing is recorded.
            #expect(try await database.recordDeadLetter("crm", event: events[2], answer: "x", advancingCursorFrom: 1, now: 4) == false)
            #expect(try await database.sinkCursor("crm")?.deliveredSeq == 2)

            let letters = try await database.pendingDeadLetters(for: "crm")
            #expect(letters.map(\.eventID) == ["e2"])
            #expect(letters.first?.answer == "HTTP 422: no")
            #expect(letters.first?.event?.payload == events[1].payload)
            #expect(try await database.sinkStatuses().first?.deadLetters == 1)

            try await database.recordDeadLetterResend("crm", seq: 2, rejectedWith: "HTTP 422: still no", now: 5)
            #expect(try await database.pendingDeadLetters(for: "crm").first?.answer == "HTTP 422: still no")
            try await database.recordDeadLetterResend("crm", seq: 2, rejectedWith: nil, now: 6)
            #expect(try await database.pendingDeadLetters(for: "crm").isEmpty)
            #expect(try await database.sinkStatuses().first?.deadLetters == 0)
        }
    }

    @Test func statusShowsLagInEventsAndTime() async throws {
        try await withTemporaryDatabase { database in
            try await store(4, in: database, now: 10_000)
            try await store(2, from: 5, in: database, now: 20_000)
            try await database.createSinkCursor("crm", startingAfterLatest: false, now: 1)
            try await database.createSinkCursor("archive", startingAfterLatest: false, now: 1)
            try await database.advanceSinkCursor("archive", from: 0, to: 4, now: 2)
            try await database.recordSinkFailure("crm", state: .failing, error: "HTTP 503", now: 3)
            let statuses = try await database.sinkStatuses()
            #expect(statuses.map(\.cursor.sink) == ["archive", "crm"])
            #expect(statuses[0].pendingEvents == 2)
            #expect(statuses[0].lagMs(now: 25_000) == 5_000)
            #expect(statuses[1].pendingEvents == 6)
            #expect(statuses[1].lagMs(now: 25_000) == 15_000)
            #expect(statuses[1].cursor.state == .failing)
            #expect(statuses[1].cursor.lastError == "HTTP 503")
            #expect(statuses[1].cursor.consecutiveFailures == 1)
            try await database.advanceSinkCursor("archive", from: 4, to: 6, now: 4)
            #expect(try await database.sinkStatuses()[0].lagMs(now: 25_000) == 0)
        }
    }
}
