import Foundation
import NP6Model
import StoreTestSupport
import SyncStore
import Synchronization
import Testing

/// The store contract: what the engine relies on, run against every `EventStore` implementation.
@Suite(.timeLimit(.minutes(5))) struct EventStoreContractTests {
    let alice = ContactReference(kind: .unicity, value: "alice+news@example.com")
    let bob = ContactReference(kind: .id, value: "000R4M0T")

    @Test(arguments: StoreKind.allCases) func newStoreHasTheCurrentSchemaVersion(_ kind: StoreKind) async throws {
        let version = try await kind.withStore { database in try await database.schemaVersion() }
        #expect(version == SchemaStep.current.version)
    }

    @Test(arguments: StoreKind.allCases) func duplicateEventIsStoredOnce(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice, bob], now: 1)
            let contacts = try await database.contacts(limit: 10, enabledOnly: true)
            let first = try await database.write(
                .batch(
                    contact: contacts[0].pollTarget,
                    events: [event("e1", at: 10), event("e2", at: 20), event("e1", at: 10)],
                    malformed: [], checkpoint: nil, now: 100))
            #expect(first == InsertCounts(new: 2, duplicate: 1))
            // The same event reached through another contact (the same person named another way).
            let second = try await database.write(
                .batch(
                    contact: contacts[1].pollTarget, events: [event("e2", at: 20), event("e3", at: 30)],
                    malformed: [], checkpoint: nil, now: 100))
            #expect(second == InsertCounts(new: 1, duplicate: 1))
            #expect(try await database.eventIDs() == ["e1", "e2", "e3"])
        }
    }

    /// Issue 18: ids that differ after a U+0000 were stored as one on SQLite (bound up to the
    /// NUL) and failed every group commit on PostgreSQL; lone surrogates were quarantined.
    @Test(arguments: StoreKind.allCases) func idsThatDifferAfterANulOrInALoneSurrogateAreStoredApartAndDelivered(
        _ kind: StoreKind
    ) async throws {
        let elements = [
            #"{"id":"nul\u0000A","timestamp":1,"type":"st\u0000op"}"#, #"{"id":"nul\u0000B","timestamp":2}"#,
            #"{"id":"sur\ud800","timestamp":3}"#, #"{"id":"sur\udbff","timestamp":4,"source":{"type":"\udc00"}}"#,
            #"{"id":"\"nul\\u0000A\"","timestamp":5}"#, #"{ "id" : "nul", "timestamp" : 6 }"#,
        ]
        let events = try elements.map { element in
            guard case .event(let event) = EventDecoder.decode(Array(element.utf8)) else {
                throw ExpectedEvent(element: element)
            }
            return event
        }
        try await kind.withStore { database in
            _ = try await database.addContacts([alice], now: 1)
            let contact = try #require(try await database.contact(alice)).pollTarget
            let first = try await database.write(
                .batch(contact: contact, events: events, malformed: [], checkpoint: nil, now: 100))
            #expect(first == InsertCounts(new: 6))
            // Read again (an overlapping window): every one is a duplicate of itself, none a conflict.
            let again = try await database.write(
                .batch(contact: contact, events: events, malformed: [], checkpoint: nil, now: 101))
            #expect(again == InsertCounts(duplicate: 6))
            #expect(try await database.eventIDs() == Set(events.map(\.id)))
            #expect(try await database.quarantinedElements().isEmpty)
            _ = try await database.createSinkCursor("crm", startingAfterLatest: false, now: 102)
            let batch = try #require(try await database.pendingBatch(for: "crm", limit: 10))
            #expect(batch.events.map(\.id) == events.map(\.id))
            #expect(batch.events.map(\.payload) == elements)
            #expect(
                batch.events.map { StoredText.wtf8(ofForm: $0.id) } == events.map { StoredText.wtf8(ofForm: $0.id) })
            #expect(batch.events[0].type == #""st\u0000op""#)
            #expect(batch.events[3].sourceType == #""\udc00""#)
        }
    }

    struct ExpectedEvent: Error {
        var element: String
    }

    @Test(arguments: StoreKind.allCases) func payloadIsStoredVerbatim(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice], now: 1)
            let id = try #require(try await database.contact(alice)).id
            let raw = #"{ "id" : "x\u00e9", "timestamp":5, "extra": {"deep": [1, 2.50, null]} , "z":"é"}"#
            let stop = StopEvent(
                id: "xé", timestampMs: 5, type: nil, identityType: nil, sourceType: nil, payload: Array(raw.utf8))
            _ = try await database.write(
                .batch(
                    contact: PollTarget(id: id, generation: 0), events: [stop], malformed: [], checkpoint: nil, now: 1))
            let seen = Mutex<[StoredEvent]>([])
            try await database.forEachEvent { event in seen.withLock { $0.append(event) } }
            let stored = seen.withLock { $0 }
            #expect(stored.map(\.payload) == [raw])
            #expect(stored.first?.contact == alice)
        }
    }

    @Test(arguments: StoreKind.allCases) func finishPollMovesTheWatermarkWithTheEvents(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice], now: 1)
            let id = try #require(try await database.contact(alice)).id
            _ = try await database.write(
                .finish(
                    contact: PollTarget(id: id, generation: 0), events: [event("a", at: 50)], malformed: [],
                    watermarkMs: 1_000, nextDueMs: 5_000,
                    now: 900))
            var contact = try #require(try await database.contact(alice))
            #expect(contact.watermarkMs == 1_000)
            #expect(contact.lastStatus == .ok)
            #expect(contact.nextDueMs == 5_000)
            // A checkpoint never moves the watermark back.
            _ = try await database.write(
                .batch(
                    contact: PollTarget(id: id, generation: 0), events: [], malformed: [],
                    checkpoint: .advance(toMs: 400), now: 901))
            contact = try #require(try await database.contact(alice))
            #expect(contact.watermarkMs == 1_000)
        }
    }

    @Test(arguments: StoreKind.allCases) func failureKeepsTheWatermarkAndCountsFailures(_ kind: StoreKind) async throws
    {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice], now: 1)
            let id = try #require(try await database.contact(alice)).id
            _ = try await database.write(
                .batch(
                    contact: PollTarget(id: id, generation: 0), events: [event("a", at: 50)], malformed: [],
                    checkpoint: .advance(toMs: 60), now: 2))
            try await database.write(
                .failure(
                    contact: PollTarget(id: id, generation: 0), status: .failed, error: "HTTP 503", nextDueMs: 99,
                    now: 3))
            try await database.write(
                .failure(
                    contact: PollTarget(id: id, generation: 0), status: .failed, error: "HTTP 500", nextDueMs: 99,
                    now: 4))
            let contact = try #require(try await database.contact(alice))
            #expect(contact.watermarkMs == 60)
            #expect(contact.consecutiveFailures == 2)
            #expect(contact.lastError == "HTTP 500")
            #expect(contact.lastStatus == .failed)
        }
    }

    @Test(arguments: StoreKind.allCases) func malformedElementIsQuarantinedOnceWithItsBytes(
        _ kind: StoreKind
    ) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice], now: 1)
            let id = try #require(try await database.contact(alice)).id
            let bad = MalformedElement(raw: Array(#"{"timestamp": 5}"#.utf8), reason: "missing id")
            // Counted when first seen only: a window re-read within the lookback sees it again.
            for expected in [1, 0] {
                let counts = try await database.write(
                    .batch(
                        contact: PollTarget(id: id, generation: 0), events: [event("ok", at: 5)], malformed: [bad],
                        checkpoint: nil, now: 1))
                #expect(counts.quarantined == expected)
            }
            let rows = try await database.quarantinedElements()
            #expect(rows.count == 1)
            #expect(rows.first?.reason == "missing id")
            #expect(rows.first?.raw == bad.raw)
            #expect(try await database.eventIDs() == ["ok"])
        }
    }

    @Test(arguments: StoreKind.allCases) func removedContactKeepsItsRowAndComesBack(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            #expect(try await database.addContacts([alice, bob, alice], now: 1).added == 2)
            #expect(try await database.removeContact(alice))
            #expect(try await !database.removeContact(alice))
            #expect(try await database.contacts(limit: 10, enabledOnly: true).map(\.reference) == [bob])
            let again = try await database.addContacts([alice, bob], now: 2)
            #expect(again.reenabled == 1)
            #expect(again.unchanged == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func statusSummarisesContactsEventsAndRuns(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice, bob], now: 1)
            let contacts = try await database.contacts(limit: 10, enabledOnly: true)
            _ = try await database.write(
                .finish(
                    contact: contacts[0].pollTarget, events: [event("a", at: 1_000)], malformed: [], watermarkMs: 2_000,
                    nextDueMs: 0, now: 2_000))
            try await database.write(
                .failure(
                    contact: contacts[1].pollTarget, status: .notFound, error: "HTTP 404", nextDueMs: 0, now: 2_000))
            var run = SyncRunSummary(kind: "sync", startedMs: 1, finishedMs: 2)
            run.eventsNew = 1
            try await database.recordRun(run)
            let status = try await database.status(now: 2_000)
            #expect(status.contacts == 2)
            #expect(status.contactsByStatus == ["ok": 1, "not_found": 1])
            #expect(status.events == 1)
            #expect(status.eventsLastDay == 1)
            #expect(status.failing.map(\.reference) == [bob])
            #expect(status.lastRun == run)
            #expect(status.neverSynced == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func operatorCommandsWinOverAPollInFlight(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice, bob], now: 1)
            // A poll starts from the contact as it is…
            let polled = try #require(try await database.contact(alice))
            // …an operator sets the watermark meanwhile…
            #expect(try await database.setWatermark(alice, to: 7_000, now: 2))
            let set = try #require(try await database.contact(alice))
            #expect(set.generation == polled.generation + 1)
            // …and the poll's later writes store their events but leave the row as the operator set it.
            let batch = try await database.write(
                .batch(
                    contact: polled.pollTarget, events: [event("a", at: 50)], malformed: [],
                    checkpoint: .advance(toMs: 9_000), now: 3))
            #expect(batch.new == 1)
            #expect(batch.supersededByOperator)
            let finish = try await database.write(
                .finish(
                    contact: polled.pollTarget, events: [event("b", at: 60)], malformed: [], watermarkMs: 10_000,
                    nextDueMs: 99_000, now: 4))
            #expect(finish.new == 1)
            #expect(finish.supersededByOperator)
            try await database.write(
                .failure(contact: polled.pollTarget, status: .failed, error: "HTTP 503", nextDueMs: 99_000, now: 5))
            #expect(try await database.contact(alice) == set)
            #expect(try await database.eventIDs() == ["a", "b"])

            // A reset (no watermark) and a removal win the same way.
            let bobPolled = try #require(try await database.contact(bob))
            #expect(try await database.setWatermark(bob, to: nil, now: 6))
            #expect(try await database.removeContact(bob))
            let removed = try #require(try await database.contact(bob))
            #expect(removed.generation == bobPolled.generation + 2)
            try await database.write(
                .finish(
                    contact: bobPolled.pollTarget, events: [], malformed: [], watermarkMs: 10_000, nextDueMs: 99_000,
                    now: 7))
            #expect(try await database.contact(bob) == removed)
            #expect(removed.watermarkMs == nil)
            #expect(!removed.enabled)

            // A poll that starts after the command writes as usual.
            let finished = try await database.write(
                .finish(contact: set.pollTarget, events: [], malformed: [], watermarkMs: 8_000, nextDueMs: 9, now: 8))
            #expect(!finished.supersededByOperator)
            #expect(try await database.contact(alice)?.watermarkMs == 8_000)
        }
    }

    @Test(arguments: StoreKind.allCases) func rewindMovesTheWatermarkDownNeverUp(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice], now: 1)
            let target = try #require(try await database.contact(alice)).pollTarget
            try await database.write(
                .batch(contact: target, events: [], malformed: [], checkpoint: .advance(toMs: 5_000), now: 2))
            try await database.write(
                .batch(contact: target, events: [], malformed: [], checkpoint: .rewind(toMs: 2_000), now: 3))
            #expect(try await database.contact(alice)?.watermarkMs == 2_000)
            try await database.write(
                .batch(contact: target, events: [], malformed: [], checkpoint: .rewind(toMs: 3_000), now: 4))
            #expect(try await database.contact(alice)?.watermarkMs == 2_000)
            try await database.write(
                .batch(contact: target, events: [], malformed: [], checkpoint: .rewind(toMs: nil), now: 5))
            #expect(try await database.contact(alice)?.watermarkMs == nil)
        }
    }

    @Test(arguments: StoreKind.allCases) func sameIDWithAnotherPayloadIsAConflictKeptOnce(
        _ kind: StoreKind
    ) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice, bob], now: 1)
            let contacts = try await database.contacts(limit: 10, enabledOnly: true)
            func stop(_ timestampMs: Int64) -> StopEvent {
                let raw = #"{"id":"e1","timestamp":\#(timestampMs)}"#
                return StopEvent(
                    id: "e1", timestampMs: timestampMs, type: nil, identityType: nil, sourceType: nil,
                    payload: Array(raw.utf8))
            }
            let first = try await database.write(
                .batch(contact: contacts[0].pollTarget, events: [stop(10)], malformed: [], checkpoint: nil, now: 2))
            #expect(first.new == 1)
            // A corrected timestamp, reached through another contact: counted and kept once.
            let second = try await database.write(
                .batch(contact: contacts[1].pollTarget, events: [stop(11)], malformed: [], checkpoint: nil, now: 3))
            #expect(second.conflicting == 1)
            #expect(second.conflicts == [EventConflict(eventID: "e1", storedFor: alice)])
            let again = try await database.write(
                .batch(
                    contact: contacts[1].pollTarget, events: [stop(11), stop(10)], malformed: [], checkpoint: nil,
                    now: 4))
            #expect(again == InsertCounts(duplicate: 2))
            // The first copy stays.
            let seen = Mutex<[String]>([])
            try await database.forEachEvent { event in seen.withLock { $0.append(event.payload) } }
            #expect(seen.withLock { $0 } == [#"{"id":"e1","timestamp":10}"#])
        }
    }

    @Test(arguments: StoreKind.allCases) func recheckMakesContactsDueNow(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            let carol = ContactReference(kind: .hash, value: "0441619ab4631d18548aa8835dd2c28b")
            let dave = ContactReference(kind: .id, value: "000DAVE")
            _ = try await database.addContacts([alice, bob, carol, dave], now: 1)
            let ids = try await database.contacts(limit: 10, enabledOnly: true).map(\.id)
            try await database.write(
                .failure(
                    contact: PollTarget(id: ids[0], generation: 0), status: .notFound, error: "HTTP 404",
                    nextDueMs: 86_400_000, now: 10))
            try await database.write(
                .failure(
                    contact: PollTarget(id: ids[1], generation: 0), status: .notFound, error: "HTTP 404",
                    nextDueMs: 86_400_000, now: 10))
            try await database.write(
                .finish(
                    contact: PollTarget(id: ids[2], generation: 0), events: [], malformed: [], watermarkMs: 10,
                    nextDueMs: 300_000, now: 10))
            _ = try await database.removeContact(dave)
            #expect(try await database.dueContacts(nowMs: 20, limit: 10, excluding: []).isEmpty)

            // By name: only the named, enabled contacts; the others are reported back.
            let unknown = ContactReference(kind: .id, value: "nobody")
            #expect(try await database.recheckContacts([carol, unknown, dave], now: 20) == [unknown, dave])
            #expect(try await database.dueContacts(nowMs: 20, limit: 10, excluding: []).map(\.reference) == [carol])

            // Every not_found contact; a contact already due keeps its earlier due time.
            #expect(try await database.recheckNotFoundContacts(now: 30) == 2)
            let due = try await database.dueContacts(nowMs: 30, limit: 10, excluding: [])
            #expect(due.map(\.reference) == [carol, alice, bob])
            #expect(due.map(\.nextDueMs) == [20, 30, 30])
            #expect(due.map(\.lastStatus) == [.ok, .notFound, .notFound], "statuses stay until the next poll")
        }
    }

    @Test(arguments: StoreKind.allCases) func futureWatermarksComeBackToTheLatestStoredEvent(
        _ kind: StoreKind
    ) async throws {
        try await kind.withStore { database in
            let carol = ContactReference(kind: .hash, value: "0441619ab4631d18548aa8835dd2c28b")
            _ = try await database.addContacts([alice, bob, carol], now: 1)
            let ids = try await database.contacts(limit: 10, enabledOnly: true).map(\.id)
            // A clock a day ahead wrote watermarks and due times a day in the future.
            let day: Int64 = 86_400_000
            _ = try await database.write(
                .finish(
                    contact: PollTarget(id: ids[0], generation: 0),
                    events: [event("a1", at: 1_000), event("a2", at: 5_000)], malformed: [],
                    watermarkMs: 10_000 + day, nextDueMs: 10_300 + day, now: 10_000 + day))
            _ = try await database.write(
                .finish(
                    contact: PollTarget(id: ids[1], generation: 0), events: [], malformed: [],
                    watermarkMs: 10_000 + day, nextDueMs: 10_300 + day,
                    now: 10_000 + day))
            // carol's watermark is right, her due time normal.
            _ = try await database.write(
                .finish(
                    contact: PollTarget(id: ids[2], generation: 0), events: [event("c1", at: 2_000)], malformed: [],
                    watermarkMs: 9_000,
                    nextDueMs: 9_300, now: 9_000))

            let changed = try await database.bringBackFutureTimes(
                watermarksAfterMs: 20_000, dueTimesAfterMs: 20_000 + 3_600_000,
                notFoundDueTimesAfterMs: 20_000 + day, toMs: 10_000)
            #expect(changed == 2)
            let contacts = try await database.contacts(limit: 10, enabledOnly: true)
            #expect(contacts.map(\.watermarkMs) == [5_000, nil, 9_000], "the latest event, or re-read all")
            #expect(contacts.map(\.nextDueMs) == [10_000, 10_000, 9_300])
            // Without due times, only watermarks move; nothing left to move.
            // A not_found contact may wait a day; past that, its due time is brought back too.
            try await database.write(
                .failure(
                    contact: PollTarget(id: ids[2], generation: 0), status: .notFound, error: "HTTP 404",
                    nextDueMs: 9_000 + day, now: 9_000))
            #expect(
                try await database.bringBackFutureTimes(
                    watermarksAfterMs: 20_000, dueTimesAfterMs: 20_000, notFoundDueTimesAfterMs: 20_000 + day,
                    toMs: 10_000) == 0)
            try await database.write(
                .failure(
                    contact: PollTarget(id: ids[2], generation: 0), status: .notFound, error: "HTTP 404",
                    nextDueMs: 30_000 + day, now: 9_000))
            #expect(
                try await database.bringBackFutureTimes(
                    watermarksAfterMs: 20_000, dueTimesAfterMs: 20_000, notFoundDueTimesAfterMs: 20_000 + day,
                    toMs: 10_000) == 1)
            #expect(try await database.contact(carol)?.nextDueMs == 10_000)
        }
    }
}
