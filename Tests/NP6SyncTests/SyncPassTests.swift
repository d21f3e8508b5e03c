import Config
import Foundation
import NP6Client
import NP6Fake
import NP6Model
import SQLiteStore
import Sinks
import StoreTestSupport
import SyncStore
import Testing

@testable import NP6Sync

@Suite(.timeLimit(.minutes(5))) struct SyncPassTests {
    @Test(arguments: ContactKind.allCases)
    func eachContactKindSyncsEveryEvent(kind: ContactKind) async throws {
        try await withSyncFixture { fixture in
            try await fixture.addFakeContacts(kind: { _ in kind })
            let report = try await fixture.pass().run(logger: fixture.logger)
            #expect(report.failures.isEmpty)
            #expect(report.run.contactsPolled == 12)
            let expected = await fixture.fakeEventIDs()
            #expect(!expected.isEmpty)
            #expect(try await fixture.database.eventIDs() == expected)
            #expect(report.run.eventsNew == expected.count)
            // Each contact's watermark reached the end of its window.
            for contact in try await fixture.database.contacts(limit: 100, enabledOnly: true) {
                #expect(contact.lastStatus == .ok)
                #expect(try #require(contact.watermarkMs) > WallClock.nowMs() - 60_000)
            }
        }
    }

    @Test func secondPassStoresNothingTwice() async throws {
        try await withSyncFixture { fixture in
            let references = try await fixture.addFakeContacts()
            // The same people named a second way: their events arrive twice, are stored once.
            let contacts = await fixture.api.state.contacts
            _ = try await fixture.database.addContacts(
                contacts.prefix(4).map { SyncFixture.reference($0, .unicity) }, now: WallClock.nowMs())
            let first = try await fixture.pass().run(logger: fixture.logger)
            let second = try await fixture.pass().run(logger: fixture.logger)
            #expect(second.run.eventsNew == 0)
            #expect(first.run.contactsPolled >= references.count)
            let expected = await fixture.fakeEventIDs()
            #expect(try await fixture.database.eventIDs() == expected)
            #expect(try await fixture.storedEventCount() == expected.count)
            #expect(first.run.eventsDuplicate > 0, "contacts named twice return the same events")
        }
    }

    @Test func eventPublishedLateWithinTheLookbackIsCaught() async throws {
        try await withSyncFixture { fixture in
            try await fixture.addFakeContacts()
            _ = try await fixture.pass().run(logger: fixture.logger)
            // Arrive now, stamped up to 10 minutes in the past: before the watermarks just written.
            let late = await fixture.api.state.publish(count: 10, lateFraction: 1)
            #expect(late.allSatisfy { $0.timestampMs < $0.arrivedMs })
            let second = try await fixture.pass().run(logger: fixture.logger)
            #expect(second.run.eventsNew == 10)
            #expect(try await fixture.database.eventIDs() == fixture.fakeEventIDs())
        }
    }

    @Test func bodyCutMidStreamThenResumedLosesNothingAndDuplicatesNothing() async throws {
        var fake = FakeNP6Configuration(contactCount: 1, eventsPerContact: 0...0)
        fake.seed = 7
        try await withSyncFixture(fake: fake, batchSize: 100) { fixture in
            let contact = try #require(await fixture.api.state.contacts.first)
            let base = WallClock.nowMs() - 3_600_000
            _ = await fixture.api.state.addEvents(
                to: contact.id, timestamps: (0..<3_000).map { base + Int64($0) * 1_000 })
            _ = try await fixture.database.addContacts([SyncFixture.reference(contact, .id)], now: 0)

            var knobs = FakeNP6Knobs()
            knobs.dropConnectionRate = 1
            await fixture.api.state.setKnobs(knobs)
            let cut = try await fixture.pass().run(logger: fixture.logger)
            #expect(cut.run.contactsFailed == 1)
            let partial = try await fixture.storedEventCount()
            #expect(partial > 0 && partial < 3_000, "about half the body arrived before the cut")
            let checkpointed = try #require(try await fixture.database.contacts(limit: 1, enabledOnly: true).first)
            #expect(checkpointed.watermarkMs != nil, "a sorted body is checkpointed inside")
            #expect(checkpointed.lastStatus == .failed)

            await fixture.api.state.setKnobs(FakeNP6Knobs())
            let resumed = try await fixture.pass().run(logger: fixture.logger)
            #expect(resumed.failures.isEmpty)
            #expect(try await fixture.database.eventIDs() == fixture.fakeEventIDs())
            #expect(try await fixture.storedEventCount() == 3_000)
            #expect(resumed.run.eventsNew == 3_000 - partial)
        }
    }

    @Test func malformedElementIsQuarantinedWhileItsNeighboursAreStored() async throws {
        var fake = FakeNP6Configuration(contactCount: 6, eventsPerContact: 20...30)
        fake.knobs.malformedElementRate = 0.1
        try await withSyncFixture(fake: fake) { fixture in
            try await fixture.addFakeContacts()
            let report = try await fixture.pass().run(logger: fixture.logger)
            #expect(report.failures.isEmpty)
            #expect(report.run.eventsQuarantined > 0)
            let quarantined = try await fixture.database.quarantinedElements()
            #expect(!quarantined.isEmpty)
            #expect(quarantined.allSatisfy { !$0.reason.isEmpty && !$0.raw.isEmpty })
            #expect(fixture.loggedLines.contains { $0.contains("Quarantined malformed elements") })
            // Every well-formed event the API sent is stored.
            let stored = try await fixture.database.eventIDs()
            #expect(stored.count == report.run.eventsNew)
            #expect(stored.isSubset(of: await fixture.fakeEventIDs()))
        }
    }

    @Test func unknownContactIsMarkedNotFoundAndTheOthersSync() async throws {
        try await withSyncFixture { fixture in
            try await fixture.addFakeContacts()
            let ghost = ContactReference(kind: .unicity, value: "nobody+ghost@example.invalid")
            _ = try await fixture.database.addContacts([ghost], now: 0)
            let report = try await fixture.pass().run(logger: fixture.logger)
            #expect(report.notFound == [ghost])
            #expect(report.failures.isEmpty)
            let stored = try #require(try await fixture.database.contact(ghost))
            #expect(stored.lastStatus == .notFound)
            #expect(stored.nextDueMs > WallClock.nowMs() + 86_000_000)
            #expect(try await fixture.database.eventIDs() == fixture.fakeEventIDs())
        }
    }

    @Test func wrongPathPrefixStopsThePassAndMarksNoContactNotFound() async throws {
        try await withSyncFixture { fixture in
            try await fixture.addFakeContacts()
            let before = try await fixture.database.contacts(limit: 100, enabledOnly: true)
            let wrongBaseURL = fixture.api.baseURL + "/np6"
            fixture.client.setBaseURL(wrongBaseURL)
            let report = try await fixture.pass(maxConcurrentRequests: 2).run(logger: fixture.logger)
            let misconfiguration = try #require(report.misconfiguration)
            #expect(misconfiguration.baseURL == wrongBaseURL)
            #expect(misconfiguration.requestedURL.hasPrefix(wrongBaseURL + "/targets/events/responses/stop?"))
            #expect(misconfiguration.contactsAsked == NotFoundGate.threshold)
            #expect(report.run.contactsPolled < 12, "no new polls after the misconfiguration was seen")
            #expect(try #require(report.run.error).contains("api.baseURL"))
            #expect(fixture.loggedLines.contains { $0.hasPrefix("error") && $0.contains(wrongBaseURL) })
            // Every row stays as it was: nothing marked not_found, nothing parked for a day.
            let after = try await fixture.database.contacts(limit: 100, enabledOnly: true)
            #expect(after.map(\.lastStatus) == before.map(\.lastStatus))
            #expect(after.map(\.nextDueMs) == before.map(\.nextDueMs))
            #expect(after.allSatisfy { $0.lastStatus == nil })

            // The right URL: the next pass syncs everything.
            fixture.client.setBaseURL(fixture.api.baseURL)
            let fixed = try await fixture.pass().run(logger: fixture.logger)
            #expect(fixed.misconfiguration == nil)
            #expect(fixed.notFound.isEmpty)
            #expect(try await fixture.database.eventIDs() == fixture.fakeEventIDs())
        }
    }

    @Test func unknownContactsAskedBeforeAnyKnownOneAreMarkedOnceA200Comes() async throws {
        try await withSyncFixture { fixture in
            // Four unknown contacts first (contacts are polled in id order), then the known ones.
            let ghosts = (1...4).map { ContactReference(kind: .id, value: "GHOST\($0)") }
            _ = try await fixture.database.addContacts(ghosts, now: 0)
            try await fixture.addFakeContacts()
            let report = try await fixture.pass(maxConcurrentRequests: 1).run(logger: fixture.logger)
            #expect(report.misconfiguration == nil)
            #expect(Set(report.notFound) == Set(ghosts))
            for ghost in ghosts {
                #expect(try await fixture.database.contact(ghost)?.lastStatus == .notFound)
            }
        }
    }

    @Test func fewerUnknownContactsThanTheThresholdAreMarkedNotFound() async throws {
        try await withSyncFixture(fake: FakeNP6Configuration(contactCount: 0)) { fixture in
            let ghosts = (1...3).map { ContactReference(kind: .id, value: "GHOST\($0)") }
            _ = try await fixture.database.addContacts(ghosts, now: 0)
            let report = try await fixture.pass().run(logger: fixture.logger)
            #expect(report.misconfiguration == nil)
            #expect(Set(report.notFound) == Set(ghosts))
            for ghost in ghosts {
                #expect(try await fixture.database.contact(ghost)?.lastStatus == .notFound)
            }
        }
    }

    @Test func refusedKeyStopsThePassWithoutNamingTheKey() async throws {
        let wrongKey = "wrong-key-5f1c9a7e3b"
        try await withSyncFixture(apiKey: wrongKey) { fixture in
            try await fixture.addFakeContacts()
            let report = try await fixture.pass(maxConcurrentRequests: 1).run(logger: fixture.logger)
            #expect(report.unauthorizedStatus == 401)
            #expect(report.run.contactsPolled < 12, "no new polls after the key was refused")
            let message = try #require(report.run.error)
            #expect(!message.contains(wrongKey))
            #expect(try await fixture.storedEventCount() == 0)
            #expect(!fixture.loggedLines.contains { $0.contains(wrongKey) })
        }
    }
}
