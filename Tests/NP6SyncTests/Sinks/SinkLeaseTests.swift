import Config
import Foundation
import InMemoryLogging
import Logging
import NP6Model
import PostgresStore
import ServiceLifecycleTestKit
import StoreTestSupport
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import Sinks

extension SinkTests {
    /// Two daemons' sink supervisors on one PostgreSQL database, each with its own connections
    /// and its own manual clock, delivering one sink to one receiver: the sink's lease decides
    /// which delivers. A daemon whose clock stands still is a paused one: it renews nothing.
    @Suite(.timeLimit(.minutes(5)), .enabled(if: PostgresTestServer.isEnabled)) struct SinkLeaseTests {
        /// The receiver both instances deliver to: each batch with who delivered it, and whether
        /// two deliveries were ever in flight at once.
        final class Receiver: Sendable {
            struct Batch: Sendable {
                var instance: String
                var seqs: [Int64]
            }

            private struct State {
                var batches: [Batch] = []
                var inFlight = 0
                var overlaps = 0
            }

            private let state = Mutex(State())

            func begin() {
                state.withLock {
                    $0.inFlight += 1
                    if $0.inFlight > 1 { $0.overlaps += 1 }
                }
            }

            func end(_ batch: Batch) {
                state.withLock {
                    $0.inFlight -= 1
                    $0.batches.append(batch)
                }
            }

            var batches: [Batch] { state.withLock { $0.batches } }
            var seqs: [Int64] { batches.flatMap(\.seqs) }
            var overlaps: Int { state.withLock { $0.overlaps } }
        }

        struct ReceiverSink: EventSink {
            let name = "crm"
            let instance: String
            let receiver: Receiver

            func deliver(_ batch: [StoredEvent]) async throws {
                receiver.begin()
                // Long enough for the other instance to deliver meanwhile, if it could.
                for _ in 0..<20 { await Task.yield() }
                receiver.end(Receiver.Batch(instance: instance, seqs: batch.map(\.seq)))
            }
        }

        /// One daemon: its store, clock, logs and sink supervisor.
        struct Daemon {
            let id: String
            let store: PostgresEventStore
            let clock: ManualClock
            let logs = InMemoryLogHandler()
            let supervisor: SinkSupervisor

            /// - Parameter changes: signalled by its clock, shared with the other daemon's.
            init(_ id: String, store: PostgresEventStore, receiver: Receiver, changes: StateChanges) {
                self.id = id
                self.store = store
                let clock = ManualClock(signalling: changes)
                self.clock = clock
                let logs = logs
                var logger = Logger(label: "test.\(id)", factory: { _ in logs })
                logger.logLevel = .debug
                supervisor = SinkSupervisor(
                    database: store, sinks: [.test("crm", batchSize: 5)], logger: logger,
                    policy: SinkFixture.fastPolicy,
                    registry: .fixed([ReceiverSink(instance: id, receiver: receiver)]), clock: clock,
                    nowMs: { clock.wallNowMs })
                supervisor.leasing = InstanceLease(
                    store: store,
                    instance: StoreInstance(id: id, host: "host-\(id)", pid: 1, startedMs: clock.wallNowMs),
                    durationMs: 30_000)
            }

            func logged(_ message: String) -> Bool {
                logs.entries.contains { $0.message.description == message }
            }
        }

        let contact = ContactReference(kind: .unicity, value: "jane@example.com")

        /// Stores events `e<first>`…, `count` of them, through `store`.
        func storeEvents(_ count: Int, from first: Int, in store: PostgresEventStore) async throws {
            _ = try await store.addContacts([contact], now: 1)
            let id = try #require(try await store.contact(contact)).id
            _ = try await store.write(
                .batch(
                    contact: PollTarget(id: id, generation: 0),
                    events: (first..<(first + count)).map { event("e\($0)", at: Int64($0)) }, malformed: [],
                    checkpoint: nil, now: 1_000))
        }

        func leaseOwner(_ store: PostgresEventStore) async throws -> String? {
            try await store.sinkStatuses().first { $0.cursor.sink == "crm" }?.lease?.owner
        }

        @Test func oneInstanceDeliversAtATimeAndAnotherTakesOverWhenItStopsRenewing() async throws {
            try await PostgresTestServer.configured().withTemporaryDatabase { endpoint in
                let password = try PostgresTestServer.configured().password
                let first = try await PostgresEventStore.open(endpoint, password: password)
                let second = try await PostgresEventStore.open(endpoint, password: password)
                do {
                    try await takeOver(first, second)
                } catch {
                    await first.close()
                    await second.close()
                    throw error
                }
                await first.close()
                await second.close()
            }
        }

        /// Issue 18: a daemon that cannot build a sink (its secret file missing on that host)
        /// wrote `stopped` for a sink another host delivered fine. Now only under its own lease.
        @Test func aSinkThatCannotStartHereLeavesTheStateOfTheHolderAlone() async throws {
            try await PostgresTestServer.configured().withTemporaryDatabase { endpoint in
                let password = try PostgresTestServer.configured().password
                let first = try await PostgresEventStore.open(endpoint, password: password)
                let second = try await PostgresEventStore.open(endpoint, password: password)
                do {
                    try await cannotStart(holder: first, other: second)
                } catch {
                    await first.close()
                    await second.close()
                    throw error
                }
                await first.close()
                await second.close()
            }
        }

        func cannotStart(holder: PostgresEventStore, other: PostgresEventStore) async throws {
            let receiver = Receiver()
            let changes = StateChanges()
            let (one, two) = (
                Daemon("one", store: holder, receiver: receiver, changes: changes),
                Daemon("two", store: other, receiver: receiver, changes: changes)
            )
            try await storeEvents(3, from: 1, in: holder)
            let now = one.clock.wallNowMs
            _ = try await holder.createSinkCursor("crm", startingAfterLatest: false, now: now)
            let token = try await holder.claimSinkLease(
                "crm", for: try #require(one.supervisor.leasing).instance, nowMs: now, leaseUntilMs: now + 30_000)
            try await holder.recordSinkRunning("crm", now: now, fencedBy: try #require(token))
            struct MissingSecret: Error {}
            let configuration = try #require(two.supervisor.sinks.first)
            await two.supervisor.recordCannotStart(configuration, error: MissingSecret(), logger: Logger(label: "test"))
            var status = try #require(try await other.sinkStatuses().first { $0.cursor.sink == "crm" })
            #expect(status.cursor.state == .running, "the holder's state stays")
            #expect(status.lease?.owner == "one")

            // With the lease free, the instance that cannot build the sink records why, and gives the lease up.
            try await holder.releaseSinkLease("crm", of: try #require(one.supervisor.leasing).instance)
            await two.supervisor.recordCannotStart(configuration, error: MissingSecret(), logger: Logger(label: "test"))
            status = try #require(try await other.sinkStatuses().first { $0.cursor.sink == "crm" })
            #expect(status.cursor.state == .stopped)
            #expect(status.cursor.lastError?.hasPrefix("cannot start: ") == true)
            #expect(try await leaseOwner(other) == nil, "given up for a host that can deliver it")
        }

        func takeOver(_ first: PostgresEventStore, _ second: PostgresEventStore) async throws {
            let receiver = Receiver()
            // Both daemons' loops sleep on their clocks after each step: the test looks again then.
            let changes = StateChanges()
            let daemons = [
                Daemon("one", store: first, receiver: receiver, changes: changes),
                Daemon("two", store: second, receiver: receiver, changes: changes),
            ]
            try await storeEvents(20, from: 1, in: first)
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for daemon in daemons { group.addTask { try await daemon.supervisor.run() } }

                    // Both start; the one that takes the lease delivers everything, the other nothing.
                    try await eventually("the stored events are delivered", on: changes) { receiver.seqs.count >= 20 }
                    let ownerID = try await leaseOwner(first)
                    let holder = try #require(daemons.first { $0.id == ownerID })
                    let other = try #require(daemons.first { $0.id != ownerID })
                    #expect(receiver.batches.allSatisfy { $0.instance == holder.id })

                    // The holder pauses: its clock stands still, it renews nothing. Past the
                    // lease, the other takes the sink over from the cursor.
                    try await other.clock.waitForSleepers(2)  // its lease keeper and its loop
                    other.clock.advance(by: .seconds(31))
                    try await eventually("the other instance holds the lease", on: changes) {
                        try await leaseOwner(first) == other.id
                    }
                    try await storeEvents(10, from: 21, in: first)
                    other.supervisor.eventsStored()
                    try await eventually("the new events are delivered", on: changes) { receiver.seqs.count >= 30 }

                    // The paused one resumes: it finds its lease taken and delivers nothing more.
                    holder.clock.advance(by: .seconds(31))
                    try await eventually("the paused instance sees it lost the lease", on: changes) {
                        holder.logged("Sink lease lost to another instance; no longer delivering from this one")
                    }
                    try await storeEvents(5, from: 31, in: first)
                    holder.supervisor.eventsStored()
                    other.supervisor.eventsStored()
                    try await eventually("the last events are delivered", on: changes) { receiver.seqs.count >= 35 }

                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }

            #expect(receiver.seqs == Array(1...35), "every event once, in seq order")
            #expect(receiver.overlaps == 0, "never delivered by both at once")
            let byInstance = receiver.batches.map(\.instance)
            let firstHolder = try #require(byInstance.first)
            let handover = byInstance.firstIndex { $0 != firstHolder } ?? byInstance.endIndex
            #expect(byInstance[handover...].allSatisfy { $0 != firstHolder }, "no delivery after the takeover")
            #expect(receiver.batches[..<handover].flatMap(\.seqs) == Array(1...20))
            let status = try #require(try await first.sinkStatuses().first)
            #expect(status.cursor.deliveredSeq == 35)
            #expect(status.cursor.state == .running)
            #expect(status.lease == nil, "given up on the graceful stop")
        }
    }
}
