import NP6Fake
import NP6Model
import SQLiteStore
import StoreTestSupport
import SyncStore
import TestClocks
import Testing

@testable import NP6Sync

/// What a poll must never do to the watermark, whatever happens while it is in flight.
@Suite(.timeLimit(.minutes(5))) struct PollSafetyTests {
    enum OperatorCommand: String, CaseIterable, Sendable {
        case setWatermark, reset, remove

        func run(on contact: ContactReference, in database: any EventStore) async throws {
            switch self {
            case .setWatermark: #expect(try await database.setWatermark(contact, to: 1_234, now: WallClock.nowMs()))
            case .reset: #expect(try await database.setWatermark(contact, to: nil, now: WallClock.nowMs()))
            case .remove: #expect(try await database.removeContact(contact))
            }
        }
    }

    @Test(arguments: OperatorCommand.allCases)
    func anOperatorsCommandWinsOverThePollInFlight(_ command: OperatorCommand) async throws {
        try await withSyncFixture(fake: FakeNP6Configuration(contactCount: 1, eventsPerContact: 3...3)) { fixture in
            let reference = try #require(try await fixture.addFakeContacts().first)
            let before = try #require(try await fixture.database.contact(reference))
            let poller = fixture.pass().poller
            await fixture.api.state.holdResponses()
            let polling = Task { try await poller.poll(before, logger: fixture.logger) }
            await fixture.api.state.waitUntilHolding(1)
            try await command.run(on: reference, in: fixture.database)
            let set = try #require(try await fixture.database.contact(reference))
            await fixture.api.state.releaseResponses()

            let outcome = try await polling.value
            #expect(outcome.result == .caughtUp)
            #expect(outcome.counts.new == 3, "what the poll stored stays stored")
            #expect(outcome.counts.supersededByOperator)
            #expect(try await fixture.database.contact(reference) == set, "the row is as the command left it")
            let expected = await fixture.fakeEventIDs()
            #expect(try await fixture.database.eventIDs() == expected)
            #expect(fixture.loggedLines.contains { $0.contains("An operator's command changed the contact") })
        }
    }

    @Test func aBodyThatGoesBackInTimeAfterACheckpointTakesTheWatermarkBack() async throws {
        try await withSyncFixture(fake: FakeNP6Configuration(contactCount: 1, eventsPerContact: 0...0), batchSize: 20) {
            fixture in
            let contact = try #require(await fixture.api.state.contacts.first)
            // A minute apart: far more than the lookback, so a re-read would not cover a skipped range.
            let base = WallClock.nowMs() - 2_100 * 60_000
            await fixture.api.state.addEvents(to: contact.id, timestamps: (0..<2_000).map { base + Int64($0) * 60_000 })
            _ = try await fixture.database.addContacts([SyncFixture.reference(contact, .id)], now: 0)
            // Sorted for 500 elements (checkpointed batch by batch), then back to the earliest;
            // the body is held after 1,000 elements, so 500 earlier events are not sent yet.
            await fixture.api.state.setKnobs(FakeNP6Knobs(backInTimeBodyRate: 1))
            await fixture.api.state.holdResponses(afterElements: 1_000)
            let pass = fixture.pass()
            let commits = fixture.database.commits()
            let running = Task { try await pass.run(logger: fixture.logger) }
            await fixture.api.state.waitUntilHolding(1)
            try await eventually(timeout: .seconds(60), "the elements sent before the hold are stored", on: commits) {
                try await fixture.storedEventCount() >= 900
            }
            let held = try #require(try await fixture.database.contacts(limit: 1, enabledOnly: true).first)
            #expect(held.watermarkMs == nil, "no checkpoint past the 500 events not sent yet")
            await fixture.api.state.releaseResponses()
            let first = try await running.value
            #expect(first.failures.isEmpty)
            let expected = await fixture.fakeEventIDs()
            #expect(try await fixture.database.eventIDs() == expected)
            #expect(try await fixture.database.contacts(limit: 1, enabledOnly: true).first?.watermarkMs != nil)
        }
    }
}
