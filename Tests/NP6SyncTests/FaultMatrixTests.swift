import Config
import GRDB
import NP6Client
import NP6Fake
import NP6Model
import Sinks
import StoreTestSupport
import SyncStore
import Testing

@testable import NP6Sync
@testable import SQLiteStore

/// Each fault the API can throw at a sync, and the outcome docs/RELIABILITY.md promises: nothing lost,
/// nothing stored twice, the other contacts unaffected.
@Suite(.timeLimit(.minutes(5))) struct FaultMatrixTests {
    /// Runs passes until every fake event is stored (at most `passes`), returning the reports.
    func syncUntilComplete(_ fixture: SyncFixture, passes: Int = 12) async throws -> [SyncPass.Report] {
        var reports: [SyncPass.Report] = []
        for _ in 0..<passes {
            // Failed contacts are retried at once here: the backoff is the daemon's business.
            try await fixture.database.pool.write { db in try db.execute(sql: "UPDATE contacts SET next_due_ms = 0") }
            reports.append(try await fixture.pass().run(logger: fixture.logger))
            if try await fixture.database.eventIDs() == fixture.fakeEventIDs(), reports.last?.failures.isEmpty == true {
                break
            }
        }
        return reports
    }

    func expectExactlyTheFakesEvents(_ fixture: SyncFixture) async throws {
        let expected = await fixture.fakeEventIDs()
        #expect(try await fixture.database.eventIDs() == expected)
        #expect(try await fixture.storedEventCount() == expected.count)
    }

    @Test func twentyPercentServerErrorsLoseNothing() async throws {
        var fake = FakeNP6Configuration(contactCount: 15, eventsPerContact: 1...6)
        fake.knobs.serverErrorRate = 0.2
        try await withSyncFixture(fake: fake) { fixture in
            try await fixture.addFakeContacts()
            let reports = try await syncUntilComplete(fixture)
            #expect(reports.contains { !$0.failures.isEmpty }, "some polls met a 5xx")
            try await expectExactlyTheFakesEvents(fixture)
        }
    }

    @Test func rateLimitStormIsWaitedOut() async throws {
        var fake = FakeNP6Configuration(contactCount: 8, eventsPerContact: 1...4)
        fake.knobs.rateLimitPerSecond = 3
        try await withSyncFixture(fake: fake) { fixture in
            try await fixture.addFakeContacts()
            let report = try await fixture.pass(maxConcurrentRequests: 4, maxAttempts: 6).run(logger: fixture.logger)
            #expect(report.failures.isEmpty)
            try await expectExactlyTheFakesEvents(fixture)
        }
    }

    /// Against both kinds of server NP6 may be, a pass that needs four times the limit's worth of
    /// requests, 16 at a time, paces itself by the headers: every event stored, at most two 429s
    /// (the limiter before this one sent 16 requests before the first answer and met 11). Not
    /// none: on a loaded machine a request sent within one fixed window can be handled in the
    /// next, which the limiter still counts as the first's (RELIABILITY.md §11). How much of the
    /// limit it uses is `scripts/measure-rate-limit`'s figure.
    @Test(arguments: FakeNP6Knobs.RateLimitKind.allCases)
    func aPassSpendsTheLimitWithoutMeetingIt(_ kind: FakeNP6Knobs.RateLimitKind) async throws {
        var fake = FakeNP6Configuration(contactCount: 20, eventsPerContact: 0...2)
        fake.knobs.rateLimitPerSecond = 5
        fake.knobs.rateLimitKind = kind
        try await withSyncFixture(fake: fake) { fixture in
            try await fixture.addFakeContacts()
            let report = try await fixture.pass(maxConcurrentRequests: 16, maxAttempts: 5).run(logger: fixture.logger)
            #expect(report.failures.isEmpty, "\(report.failures.map(\.error))")
            #expect(await fixture.api.state.statusCounts[429, default: 0] <= 2)
            try await expectExactlyTheFakesEvents(fixture)
        }
    }

    @Test func latencyBeyondTheTimeoutFailsThatPollOnly() async throws {
        var fake = FakeNP6Configuration(contactCount: 3, eventsPerContact: 1...4)
        fake.knobs.latencyMs = 2_500
        try await withSyncFixture(fake: fake, timeoutSeconds: 1) { fixture in
            try await fixture.addFakeContacts()
            let slow = try await fixture.pass().run(logger: fixture.logger)
            #expect(slow.failures.count == 3)
            #expect(slow.failures.allSatisfy { $0.error.contains("timeout") }, "\(slow.failures.map(\.error))")
            #expect(try await fixture.storedEventCount() == 0)
            await fixture.api.state.setKnobs(FakeNP6Knobs())
            _ = try await syncUntilComplete(fixture)
            try await expectExactlyTheFakesEvents(fixture)
        }
    }

    @Test func duplicateIDsInsideOneBodyAreStoredOnce() async throws {
        var fake = FakeNP6Configuration(contactCount: 6, eventsPerContact: 10...20)
        fake.knobs.duplicateElementRate = 0.3
        try await withSyncFixture(fake: fake) { fixture in
            try await fixture.addFakeContacts()
            let report = try await fixture.pass().run(logger: fixture.logger)
            #expect(report.run.eventsDuplicate > 0)
            try await expectExactlyTheFakesEvents(fixture)
        }
    }

    @Test func bodyOutOfOrderDespiteSortIsStoredWholeAndNeverCheckpointedInside() async throws {
        var fake = FakeNP6Configuration(contactCount: 1, eventsPerContact: 0...0)
        fake.knobs.unsortedBodyRate = 1
        try await withSyncFixture(fake: fake, batchSize: 50) { fixture in
            let contact = try #require(await fixture.api.state.contacts.first)
            let base = WallClock.nowMs() - 7_200_000
            _ = await fixture.api.state.addEvents(
                to: contact.id, timestamps: (0..<1_000).map { base + Int64($0) * 1_000 })
            _ = try await fixture.database.addContacts([SyncFixture.reference(contact, .id)], now: 0)
            // Cut the unsorted body: no checkpoint may be taken from it.
            var knobs = FakeNP6Knobs(unsortedBodyRate: 1)
            knobs.dropConnectionRate = 1
            await fixture.api.state.setKnobs(knobs)
            _ = try await fixture.pass().run(logger: fixture.logger)
            let cut = try #require(try await fixture.database.contacts(limit: 1, enabledOnly: true).first)
            #expect(cut.watermarkMs == nil, "an unsorted body is never checkpointed inside")
            #expect(try await fixture.storedEventCount() > 0)

            await fixture.api.state.setKnobs(FakeNP6Knobs(unsortedBodyRate: 1))
            let outcome = try await fixture.pass().run(logger: fixture.logger)
            #expect(outcome.failures.isEmpty)
            try await expectExactlyTheFakesEvents(fixture)
        }
    }
}
