import AsyncHTTPClient
import Config
import Crypto
import Foundation
import GRDB
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
                #expect(keys.map(Self.withoutDigest) == ["\(databaseIDs[0]):crm:1:1-3", "\(databaseIDs[1]):crm:1:1-3"])
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
                    let digest = Self.independentDigest(of: try await fixture.storedEvents())
                    let key = "\(databaseID):crm:1:1-3:\(digest)"
                    #expect(receiver.requests.map { $0.headers["idempotency-key"] } == [key, key])

                    // sinks replay: the same events again, as a new delivery.
                    _ = try await fixture.database.rewindSinkCursor(
                        "crm", toRedeliverFromSeq: 1, now: WallClock.nowMs())
                    await Self.drain(fixture, to: receiver)
                    #expect(receiver.acceptedSeqs == [1, 2, 3, 1, 2, 3])
                    #expect(receiver.accepted.last?.headers["idempotency-key"] == "\(databaseID):crm:2:1-3:\(digest)")
                    #expect(receiver.accepted.last?.body == receiver.accepted.first?.body, "the same batch")

                    // New events after the replay are delivered under the new generation too.
                    try await fixture.storeEvents(2)
                    await Self.drain(fixture, to: receiver)
                    #expect(
                        receiver.accepted.last?.headers["idempotency-key"].map(Self.withoutDigest)
                            == "\(databaseID):crm:2:4-5")
                }
            }
        }

        /// Issue 18: keys were built from the seq range alone, and a database that went back in
        /// time handed the same seqs to other events: sync, back up the file, new events, sync,
        /// restore, new events, sync. No key may carry two different batches.
        @Test func aDatabaseRestoredFromABackupNeverReusesAKeyForOtherEvents() async throws {
            try await withWebhookReceiver { receiver in
                try await withSinkFixture { fixture in
                    try await fixture.storeEvents(3, prefix: "before")
                    await Self.drain(fixture, to: receiver)
                    let backup = fixture.directory.appendingPathComponent("backup.sqlite").path
                    let live = try DatabaseQueue(path: fixture.directory.appendingPathComponent("sync.sqlite").path)
                    try live.backup(to: try DatabaseQueue(path: backup))
                    try live.close()
                    try await fixture.storeEvents(2, prefix: "lost")
                    await Self.drain(fixture, to: receiver)
                    // The backup put back: its cursor and its seqs are from before the lost events.
                    let restored = SinkFixture(
                        directory: fixture.directory, database: try SQLiteEventStore.open(path: backup))
                    #expect(try await restored.database.databaseID() == fixture.database.databaseID())
                    try await restored.storeEvents(2, prefix: "after")
                    await Self.drain(restored, to: receiver)
                }
                #expect(receiver.acceptedSeqs == [1, 2, 3, 4, 5, 4, 5], "the restored database reused seqs 4 and 5")
                var batches: [String: Set<String>] = [:]
                for request in receiver.accepted {
                    let key = try #require(request.headers["idempotency-key"])
                    let ids = Set(request.ids)
                    #expect(batches[key, default: ids] == ids, "\(key) named two different batches")
                    batches[key] = ids
                }
                #expect(batches.count == 3)
            }
        }

        /// The digest, computed here from its documented definition.
        static func independentDigest(of batch: [StoredEvent]) -> String {
            var text = Data()
            for event in batch {
                text += Data(
                    "\(event.seq):\(event.id.utf8.count):\(event.id):\(event.payload.utf8.count):\(event.payload)".utf8)
            }
            return SHA256.hash(data: text).prefix(16).map { String(format: "%02x", $0) }.joined()
        }

        /// A key without its digest: `DATABASE_ID:SINK:GENERATION:FIRST-LAST`.
        static func withoutDigest(_ key: String) -> String {
            String(key[..<(key.lastIndex(of: ":") ?? key.endIndex)])
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
