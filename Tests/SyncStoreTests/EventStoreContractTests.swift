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
        #expect(version == kind.currentSchemaVersion)
    }

    @Test(arguments: StoreKind.allCases) func duplicateEventIsStoredOnce(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice, bob], now: 1)
            let contacts = try await database.contacts(limit: 10, enabledOnly: true)
            let first = try await database.write(
                .batch(
                    contactID: contacts[0].id, events: [event("e1", at: 10), event("e2", at: 20), event("e1", at: 10)],
                    malformed: [], checkpointMs: nil, now: 100))
            #expect(first == InsertCounts(new: 2, duplicate: 1))
            // The same event reached through another contact (the same person named another way).
            let second = try await database.write(
                .batch(
                    contactID: contacts[1].id, events: [event("e2", at: 20), event("e3", at: 30)],
                    malformed: [], checkpointMs: nil, now: 100))
            #expect(second == InsertCounts(new: 1, duplicate: 1))
            #expect(try await database.eventIDs() == ["e1", "e2", "e3"])
        }
    }

    @Test(arguments: StoreKind.allCases) func payloadIsStoredVerbatim(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            _ = try await database.addContacts([alice], now: 1)
            let id = try #require(try await database.contact(alice)).id
            let raw = #"{ "id" : "x\u00e9", "timestamp":5, "extra": {"deep": [1, 2.50, null]} , "z":"é"}"#
            let stop = StopEvent(
                id: "xé", timestampMs: 5, type: nil, identityType: nil, sourceType: nil, payload: Array(raw.utf8))
            _ = try await database.write(
                .batch(contactID: id, events: [stop], malformed: [], checkpointMs: nil, now: 1))
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
                    contactID: id, events: [event("a", at: 50)], malformed: [], watermarkMs: 1_000, nextDueMs: 5_000,
                    now: 900))
            var contact = try #require(try await database.contact(alice))
            #expect(contact.watermarkMs == 1_000)
            #expect(contact.lastStatus == .ok)
            #expect(contact.nextDueMs == 5_000)
            // A checkpoint never moves the watermark back.
            _ = try await database.write(.batch(contactID: id, events: [], malformed: [], checkpointMs: 400, now: 901))
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
                .batch(contactID: id, events: [event("a", at: 50)], malformed: [], checkpointMs: 60, now: 2))
            try await database.write(.failure(contactID: id, status: .failed, error: "HTTP 503", nextDueMs: 99, now: 3))
            try await database.write(.failure(contactID: id, status: .failed, error: "HTTP 500", nextDueMs: 99, now: 4))
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
            for _ in 0..<2 {
                let counts = try await database.write(
                    .batch(
                        contactID: id, events: [event("ok", at: 5)], malformed: [bad], checkpointMs: nil, now: 1))
                #expect(counts.quarantined == 1)
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
                    contactID: contacts[0].id, events: [event("a", at: 1_000)], malformed: [], watermarkMs: 2_000,
                    nextDueMs: 0, now: 2_000))
            try await database.write(
                .failure(
                    contactID: contacts[1].id, status: .notFound, error: "HTTP 404", nextDueMs: 0, now: 2_000))
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

    @Test(arguments: StoreKind.allCases) func recheckMakesContactsDueNow(_ kind: StoreKind) async throws {
        try await kind.withStore { database in
            let carol = ContactReference(kind: .hash, value: "0441619ab4631d18548aa8835dd2c28b")
            let dave = ContactReference(kind: .id, value: "000DAVE")
            _ = try await database.addContacts([alice, bob, carol, dave], now: 1)
            let ids = try await database.contacts(limit: 10, enabledOnly: true).map(\.id)
            try await database.write(
                .failure(contactID: ids[0], status: .notFound, error: "HTTP 404", nextDueMs: 86_400_000, now: 10))
            try await database.write(
                .failure(contactID: ids[1], status: .notFound, error: "HTTP 404", nextDueMs: 86_400_000, now: 10))
            try await database.write(
                .finish(
                    contactID: ids[2], events: [], malformed: [], watermarkMs: 10, nextDueMs: 300_000, now: 10))
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
                    contactID: ids[0], events: [event("a1", at: 1_000), event("a2", at: 5_000)], malformed: [],
                    watermarkMs: 10_000 + day, nextDueMs: 10_300 + day, now: 10_000 + day))
            _ = try await database.write(
                .finish(
                    contactID: ids[1], events: [], malformed: [], watermarkMs: 10_000 + day, nextDueMs: 10_300 + day,
                    now: 10_000 + day))
            // carol's watermark is right, her due time normal.
            _ = try await database.write(
                .finish(
                    contactID: ids[2], events: [event("c1", at: 2_000)], malformed: [], watermarkMs: 9_000,
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
                .failure(contactID: ids[2], status: .notFound, error: "HTTP 404", nextDueMs: 9_000 + day, now: 9_000))
            #expect(
                try await database.bringBackFutureTimes(
                    watermarksAfterMs: 20_000, dueTimesAfterMs: 20_000, notFoundDueTimesAfterMs: 20_000 + day,
                    toMs: 10_000) == 0)
            try await database.write(
                .failure(
                    contactID: ids[2], status: .notFound, error: "HTTP 404", nextDueMs: 30_000 + day, now: 9_000))
            #expect(
                try await database.bringBackFutureTimes(
                    watermarksAfterMs: 20_000, dueTimesAfterMs: 20_000, notFoundDueTimesAfterMs: 20_000 + day,
                    toMs: 10_000) == 1)
            #expect(try await database.contact(carol)?.nextDueMs == 10_000)
        }
    }
}
