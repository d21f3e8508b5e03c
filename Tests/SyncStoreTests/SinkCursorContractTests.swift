import Foundation
import NP6Model
import StoreTestSupport
import SyncStore
import Testing

@Suite(.timeLimit(.minutes(5))) struct SinkCursorContractTests {
    let alice = ContactReference(kind: .unicity, value: "alice@example.com")

    /// Stores events `e1`…`eN` (seq 1…N) for alice, received at `now`.
    func store(_ count: Int, from first: Int = 1, in database: any EventStore, now: Int64 = 1_000) async throws {
        _ = try await database.addContacts([alice], now: 1)
        let id = try #require(try await database.contact(alice)).id
        let events = (first..<(first + count)).map { event("e\($0)", at: Int64($0)) }
        _ = try await database.write(
            .batch(contact: PollTarget(id: id, generation: 0), events: events, malformed: [], checkpoint: nil, now: now)
        )
    }

    @Test(arguments: StoreKind.allCases) func newSinkStartsAtTheBeginningOrAfterTheLatestEventOnce(
        _ kind: StoreKind
    ) async throws {
        try await kind.withStore { database in
            try await store(5, in: database)
            #expect(
                try await database.createSinkCursor("archive", startingAfterLatest: false, now: 2).deliveredSeq == 0)
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

    @Test(arguments: StoreKind.allCases) func eachDatabaseHasItsOwnLastingIdentity(_ kind: StoreKind) async throws {
        let (first, again) = try await kind.withStore { database in
            (try await database.databaseID(), try await database.databaseID())
        }
        let other = try await kind.withStore { database in try await database.databaseID() }
        #expect(first == again)
        #expect(first != other)
        #expect(UUID(uuidString: first) != nil && first == first.lowercased(), "a lower-case UUID: \(first)")
    }

    @Test(arguments: StoreKind.allCases) func replayStartsANewDeliveryGeneration(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            try await store(6, in: database)
            #expect(
                try await database.createSinkCursor("crm", startingAfterLatest: false, now: 2).deliveryGeneration == 1)
            // Deliveries, failures and restarts keep the generation: a retry is the same delivery.
            try await database.advanceSinkCursor("crm", from: 0, to: 3, now: 3)
            try await database.recordSinkFailure("crm", state: .failing, error: "HTTP 503", now: 4)
            try await database.recordSinkRunning("crm", now: 5)
            #expect(try await database.pendingBatch(for: "crm", limit: 2)?.cursor.deliveryGeneration == 1)
            // Every replay starts a new one, whether the cursor moves or not.
            _ = try await database.rewindSinkCursor("crm", toRedeliverFromSeq: 2, now: 6)
            #expect(try await database.sinkCursor("crm")?.deliveryGeneration == 2)
            _ = try await database.rewindSinkCursor("crm", toRedeliverSinceMs: 1_000_000, now: 7)
            #expect(try await database.sinkCursor("crm")?.deliveryGeneration == 3)
            #expect(try await database.startDeliveryGeneration("crm", now: 8) == 4)
            #expect(try await database.sinkCursor("crm")?.deliveredSeq == 1, "the cursor stays")
            // A sink that never ran starts at its first generation.
            #expect(try await database.startDeliveryGeneration("new", now: 9) == 1)
            #expect(try await database.sinkCursor("new")?.deliveredSeq == 0)
            _ = try await database.rewindSinkCursor("other", toRedeliverFromSeq: 1, now: 10)
            #expect(try await database.sinkCursor("other")?.deliveryGeneration == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func cursorAdvancesOnlyFromWhereTheBatchWasRead(_ kind: StoreKind) async throws
    {
        try await kind.withStore { database in
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

    @Test(arguments: StoreKind.allCases) func replayNeverMovesTheCursorForwardAndResumesAStoppedSink(
        _ kind: StoreKind
    ) async throws {
        try await kind.withStore { database in
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
            #expect(
                try await database.rewindSinkCursor("new", toRedeliverFromSeq: 3, now: 10)
                    == SinkRewind(previousSeq: nil, deliveredSeq: 2))
        }
    }

    @Test(arguments: StoreKind.allCases) func deadLetterIsRecordedWithTheCursorAndResentOnce(
        _ kind: StoreKind
    ) async throws {
        try await kind.withStore { database in
            try await store(3, in: database)
            try await database.createSinkCursor("crm", startingAfterLatest: false, now: 2)
            let events = try #require(try await database.pendingBatch(for: "crm", limit: 10)).events
            try await database.advanceSinkCursor("crm", from: 0, to: 1, now: 3)
            #expect(
                try await database.recordDeadLetter(
                    "crm", event: events[1], answer: "HTTP 422: no", advancingCursorFrom: 1, now: 4))
            // From a stale cursor nothing is recorded.
            #expect(
                try await database.recordDeadLetter(
                    "crm", event: events[2], answer: "x", advancingCursorFrom: 1, now: 4) == false)
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

    @Test(arguments: StoreKind.allCases) func statusShowsLagInEventsAndTime(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
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
