import Foundation
import NP6Client
import NP6Fake
import NP6Model
import SQLiteStore
import StoreTestSupport
import SyncStore
import Synchronization
import Testing

@testable import NP6Sync

/// A local clock that is wrong, injected through `wallNowMs` (the client's clock too), against
/// the fake API whose `Date` header tells the right time.
@Suite(.timeLimit(.minutes(5))) struct ClockSkewTests {
    static let day: Int64 = 86_400_000

    /// Passes of `fixture`'s contacts with a local clock `offset` ahead, sharing one guard as a
    /// process does; `body` gets a pass maker and the last skew the gauge saw.
    func withSkewedClock(
        _ fixture: SyncFixture,
        offset: Offset,
        _ body: (_ pass: () -> SyncPass, _ skewSeconds: () -> Double?) async throws -> Void
    ) async throws {
        let wallNowMs: @Sendable () -> Int64 = { WallClock.nowMs() + offset.milliseconds }
        let client = NP6Client(
            configuration: NP6ClientConfiguration(
                baseURL: fixture.api.baseURL, apiKey: fixture.api.state.configuration.apiKey),
            now: wallNowMs)
        let gauge = Mutex<Double?>(nil)
        let guardian = ClockSkewGuard(
            database: fixture.database, schedule: SchedulePolicy(), logger: fixture.logger,
            onSkew: { seconds in gauge.withLock { $0 = seconds } })
        let pass = {
            var poller = ContactPoller(
                client: client, database: fixture.database, windows: WindowPolicy(), schedule: SchedulePolicy(),
                pacer: RequestPacer(requestsPerSecond: 1_000, wallNowMs: wallNowMs), wallNowMs: wallNowMs)
            poller.clockSkew = guardian
            return SyncPass(poller: poller, maxConcurrentRequests: 4, maxAttempts: 1)
        }
        do {
            try await body(pass) { gauge.withLock { $0 } }
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func aClockADayAheadThenCorrectedLosesNothing() async throws {
        try await withSyncFixture { fixture in
            try await fixture.addFakeContacts()
            let offset = Offset(Self.day)
            try await withSkewedClock(fixture, offset: offset) { pass, skewSeconds in
                let first = try await pass().run(logger: fixture.logger)
                #expect(first.failures.isEmpty)
                #expect(try await fixture.database.eventIDs() == fixture.fakeEventIDs())
                // No watermark went past the API's time, although the local clock is a day ahead.
                for contact in try await fixture.database.contacts(limit: 100, enabledOnly: true) {
                    #expect(try #require(contact.watermarkMs) <= WallClock.nowMs())
                }
                let skew = try #require(skewSeconds())
                #expect(abs(skew - 86_400) < 5)
                #expect(
                    fixture.loggedLines.contains {
                        $0.hasPrefix("error") && $0.contains("clock") && $0.contains("clock.skew_seconds")
                    })

                // Events published while the clock is wrong, some late; then the clock is put right.
                await fixture.api.state.publish(count: 6)
                await fixture.api.state.publish(count: 4, lateFraction: 1)
                _ = try await pass().run(logger: fixture.logger)
                #expect(try await fixture.database.eventIDs() == fixture.fakeEventIDs())
                await fixture.api.state.publish(count: 6)
                offset.milliseconds = 0
                await fixture.api.state.publish(count: 4, lateFraction: 1)
                let corrected = try await pass().run(logger: fixture.logger)
                #expect(corrected.failures.isEmpty)
                #expect(try await fixture.database.eventIDs() == fixture.fakeEventIDs(), "nothing lost")
                #expect(try #require(skewSeconds()) < 5)
                #expect(fixture.loggedLines.contains { $0.contains("The local clock agrees with the API's again") })
            }
        }
    }

    @Test func watermarksLeftInTheFutureAreBroughtBackBeforeAnyPoll() async throws {
        try await withSyncFixture { fixture in
            let references = try await fixture.addFakeContacts()
            let offset = Offset(0)
            try await withSkewedClock(fixture, offset: offset) { pass, _ in
                _ = try await pass().run(logger: fixture.logger)
            }
            // An earlier run with a clock a day ahead and no guard left every watermark a day
            // in the future; events were published since.
            for reference in references {
                _ = try await fixture.database.setWatermark(reference, to: WallClock.nowMs() + Self.day, now: 0)
            }
            await fixture.api.state.publish(count: 10)
            // A new process with the right clock: no window would be asked for without the guard.
            try await withSkewedClock(fixture, offset: offset) { pass, _ in
                let report = try await pass().run(logger: fixture.logger)
                #expect(report.failures.isEmpty)
                #expect(report.run.requests >= references.count)
            }
            #expect(try await fixture.database.eventIDs() == fixture.fakeEventIDs(), "nothing lost")
            for contact in try await fixture.database.contacts(limit: 100, enabledOnly: true) {
                #expect(try #require(contact.watermarkMs) <= WallClock.nowMs())
            }
        }
    }
}

/// How far ahead the injected local clock is.
final class Offset: Sendable {
    private let value: Mutex<Int64>

    init(_ milliseconds: Int64) { value = Mutex(milliseconds) }

    var milliseconds: Int64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
