import NP6Fake
import NP6Model
import SQLiteStore
import StoreTestSupport
import SyncStore
import TestClocks
import Testing

@testable import NP6Sync

/// `api.maxAttempts`: `sync` tries a contact again within its pass after a transient fault.
@Suite(.timeLimit(.minutes(5))) struct SyncPassRetryTests {
    @Test func serverErrorsAndBrokenBodiesAreRetriedUntilThePassIsExact() async throws {
        var fake = FakeNP6Configuration(contactCount: 60, eventsPerContact: 0...20)
        fake.knobs.serverErrorRate = 0.1
        fake.knobs.garbageBodyRate = 0.025
        fake.knobs.dropConnectionRate = 0.025
        try await withSyncFixture(fake: fake, batchSize: 8) { fixture in
            try await fixture.addFakeContacts()
            let report = try await fixture.pass(maxAttempts: 8).run(logger: fixture.logger)
            let statuses = await fixture.api.state.statusCounts
            #expect(statuses[500, default: 0] + statuses[503, default: 0] > 0, "the pass met server errors")
            #expect(report.failures.isEmpty)
            #expect(report.run.contactsFailed == 0)
            #expect(report.run.requests > 60, "the failed attempts are counted")
            let expected = await fixture.fakeEventIDs()
            #expect(try await fixture.database.eventIDs() == expected)
            #expect(try await fixture.storedEventCount() == expected.count)
            #expect(report.run.eventsNew == expected.count, "what each attempt stored is counted once")
        }
    }

    @Test func oneAttemptLeavesTheFaultsToTheNextPass() async throws {
        var fake = FakeNP6Configuration(contactCount: 30, eventsPerContact: 1...5)
        fake.knobs.serverErrorRate = 1
        try await withSyncFixture(fake: fake) { fixture in
            try await fixture.addFakeContacts()
            let report = try await fixture.pass(maxAttempts: 1).run(logger: fixture.logger)
            #expect(report.failures.count == 30)
            #expect(report.run.requests == 30)
        }
    }

    @Test func aContactTheAPIDoesNotKnowIsAskedOnce() async throws {
        try await withSyncFixture(fake: FakeNP6Configuration(contactCount: 2, eventsPerContact: 1...2)) { fixture in
            try await fixture.addFakeContacts()
            _ = try await fixture.database.addContacts(
                [ContactReference(kind: .id, value: "NOSUCHCONTACT")], now: WallClock.nowMs())
            let report = try await fixture.pass(maxAttempts: 5).run(logger: fixture.logger)
            #expect(report.notFound == [ContactReference(kind: .id, value: "NOSUCHCONTACT")])
            #expect(await fixture.api.state.statusCounts[404] == 1)
        }
    }

    @Test func retriesWaitWithAnExponentialBackoff() async throws {
        var fake = FakeNP6Configuration(contactCount: 1, eventsPerContact: 2...2)
        fake.knobs.serverErrorRate = 1
        try await withSyncFixture(fake: fake) { fixture in
            try await fixture.addFakeContacts()
            let clock = ManualClock()
            var pass = fixture.pass(maxAttempts: 3)
            pass.retryDelay = .milliseconds(500)
            pass.clock = clock
            pass.poller.random = { 0 }  // no jitter: the full delay
            let running = Task { try await pass.run(logger: fixture.logger) }
            try await clock.waitForSleepers(1)
            #expect(await fixture.api.state.statusCounts.values.reduce(0, +) == 1)
            clock.advance(by: .milliseconds(499))
            #expect(await fixture.api.state.statusCounts.values.reduce(0, +) == 1, "not before the delay")
            clock.advance(by: .milliseconds(1))
            // The second attempt fails too; the third waits twice as long, and then succeeds.
            try await clock.waitForSleepers(1, until: clock.now.advanced(by: .seconds(1)))
            #expect(await fixture.api.state.statusCounts.values.reduce(0, +) == 2)
            await fixture.api.state.updateKnobs { $0.serverErrorRate = 0 }
            clock.advance(by: .seconds(1))
            let report = try await running.value
            #expect(report.failures.isEmpty)
            #expect(report.run.requests == 3)
            let expected = await fixture.fakeEventIDs()
            #expect(try await fixture.database.eventIDs() == expected)
        }
    }

    @Test func backoffDoublesUpToItsCapLessAtMostHalfForJitter() async throws {
        try await withSyncFixture { fixture in
            var pass = fixture.pass(maxAttempts: 10)
            pass.retryDelay = .milliseconds(500)
            pass.maxRetryDelay = .seconds(8)
            pass.poller.random = { 0 }
            #expect((2...7).map { pass.delay(beforeAttempt: $0) } == [0.5, 1, 2, 4, 8, 8].map { .seconds($0) })
            pass.poller.random = { 0.999_999 }
            #expect(pass.delay(beforeAttempt: 2) > .milliseconds(250))
            #expect(pass.delay(beforeAttempt: 2) < .milliseconds(251))
        }
    }
}
