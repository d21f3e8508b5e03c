import AsyncHTTPClient
import Config
import Foundation
import NP6Model
import SQLiteStore
import SyncStore
import Testing

@testable import Sinks

extension SinkTests {
    /// `Idempotency-Key` means one delivery: the same for every retry of a batch, new for another
    /// database or after a replay. Real SQLite files, a real receiver, the supervisor's loops.
    @Suite(.timeLimit(.minutes(5))) struct IdempotencyKeyTests {
        static func webhook(_ url: String) -> [SinkConfiguration] {
            [SinkConfiguration(name: "crm", kind: .webhook(WebhookSinkConfiguration(url: url)), batchSize: 10)]
        }

        /// Delivers what is pending to `receiver` through a supervisor over `fixture`'s database.
        @discardableResult
        static func drain(_ fixture: SinkFixture, to receiver: WebhookReceiver) async -> SinkDrainReport {
            // Real time: the drain's backoff between attempts is 20 ms here.
            await SinkSupervisor(
                database: fixture.database, sinks: webhook(receiver.url), logger: fixture.logger,
                policy: SinkFixture.fastPolicy
            ).drainOnce()
        }

        @Test func twoDatabasesGiveTheSameBatchDifferentKeys() async throws {
            try await withWebhookReceiver { receiver in
                var databaseIDs: [String] = []
                for _ in 0..<2 {
                    try await withSinkFixture { fixture in
                        try await fixture.storeEvents(3)
                        databaseIDs.append(try await fixture.database.databaseID())
                        await Self.drain(fixture, to: receiver)
                    }
                }
                let keys = receiver.accepted.map { $0.headers["idempotency-key"] ?? "" }
                #expect(receiver.acceptedSeqs == [1, 2, 3, 1, 2, 3], "the same seqs in both databases")
                #expect(keys == ["\(databaseIDs[0]):crm:1:1-3", "\(databaseIDs[1]):crm:1:1-3"])
                #expect(databaseIDs[0] != databaseIDs[1])
                #expect(databaseIDs.allSatisfy { UUID(uuidString: $0) != nil })
            }
        }

        @Test func aRetryKeepsItsKeyAndAReplayGetsANewOne() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(3)
                let databaseID = try await fixture.database.databaseID()
                // The first attempt fails: the retry is the same delivery.
                try await withWebhookReceiver(script: { _, index in index == 0 ? .init(status: 503) : .ok }) {
                    receiver in
                    let report = await Self.drain(fixture, to: receiver)
                    #expect(report.results.first?.error == nil)
                    #expect(receiver.requests.count == 2)
                    let key = "\(databaseID):crm:1:1-3"
                    #expect(receiver.requests.map { $0.headers["idempotency-key"] } == [key, key])

                    // sinks replay: the same events again, as a new delivery.
                    _ = try await fixture.database.rewindSinkCursor(
                        "crm", toRedeliverFromSeq: 1, now: WallClock.nowMs())
                    await Self.drain(fixture, to: receiver)
                    #expect(receiver.acceptedSeqs == [1, 2, 3, 1, 2, 3])
                    #expect(receiver.accepted.last?.headers["idempotency-key"] == "\(databaseID):crm:2:1-3")
                    #expect(receiver.accepted.last?.body == receiver.accepted.first?.body, "the same batch")

                    // New events after the replay are delivered under the new generation too.
                    try await fixture.storeEvents(2)
                    await Self.drain(fixture, to: receiver)
                    #expect(receiver.accepted.last?.headers["idempotency-key"] == "\(databaseID):crm:2:4-5")
                }
            }
        }

        @Test func webhookRefusesABatchWithoutItsDelivery() async throws {
            try await withSinkFixture { fixture in
                try await fixture.storeEvents(1)
                try await withWebhookReceiver { receiver in
                    let sink = try SinkRegistry.builtIn.makeSink(
                        Self.webhook(receiver.url)[0],
                        context: SinkContext(httpClient: .shared, logger: fixture.logger))
                    await #expect(throws: SinkError.self) { try await sink.deliver(try await fixture.storedEvents()) }
                    #expect(receiver.requests.isEmpty, "no request under a key that could repeat another's")
                }
            }
        }
    }
}
