import Foundation
import Logging
import NP6Model
import PostgresStore
import ServiceLifecycle
import ServiceLifecycleTestKit
import StoreTestSupport
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import NP6Sync

/// Two polling loops on one PostgreSQL database, as two daemons on two machines: they share the
/// contacts by lease, and divide the concurrent polls. Their loops tick on real time, but nothing
/// asserted depends on it: the test and the polls wait for each other through `Polls.changes`.
@Suite(.timeLimit(.minutes(5)), .enabled(if: PostgresTestServer.isEnabled)) struct LeasingSchedulerTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// How many polls of each contact run at once, how many each instance runs at once, and
    /// how many ran in all; signals `changes` at each begin and end.
    final class Polls: Sendable {
        private struct State {
            var running: [Int64: Int] = [:]
            var overlaps = 0
            var done: [Int64: Int] = [:]
            var runningBy: [String: Int] = [:]
            var mostAtOnceBy: [String: Int] = [:]
            var begun = 0
        }
        private let state = Mutex(State())
        let changes = StateChanges()

        func begin(_ id: Int64, by instance: String) {
            state.withLock {
                $0.running[id, default: 0] += 1
                if $0.running[id]! > 1 { $0.overlaps += 1 }
                $0.runningBy[instance, default: 0] += 1
                $0.mostAtOnceBy[instance] = max($0.mostAtOnceBy[instance] ?? 0, $0.runningBy[instance]!)
                $0.begun += 1
            }
            changes.signal()
        }

        func end(_ id: Int64, by instance: String) {
            state.withLock {
                $0.running[id, default: 0] -= 1
                $0.done[id, default: 0] += 1
                $0.runningBy[instance, default: 0] -= 1
            }
            changes.signal()
        }

        /// Ends once `instance` runs `count` polls at once, or every one of `total` contacts
        /// has begun: a poll that lasts until its instance uses its whole share.
        func holdUntil(_ instance: String, runs count: Int, orAllOf total: Int) async throws {
            try await changes.wait {
                state.withLock { ($0.runningBy[instance] ?? 0) >= count || $0.begun >= total }
            }
        }

        var overlaps: Int { state.withLock { $0.overlaps } }
        var done: [Int64: Int] { state.withLock { $0.done } }
        var mostAtOnceBy: [String: Int] { state.withLock { $0.mostAtOnceBy } }
    }

    /// A loop of 4 concurrent polls whose polls each last until their instance runs its share
    /// (2 of the 4, with two instances live) or every one of `contacts` has begun.
    func scheduler(
        _ database: PostgresEventStore, instance: String, polls: Polls, contacts: Int
    ) -> PollScheduler {
        let logger = logger
        var scheduler = PollScheduler(database: database, maxConcurrentPolls: 4, wallNowMs: WallClock.nowMs) {
            contact in
            polls.begin(contact.id, by: instance)
            try await polls.holdUntil(instance, runs: 2, orAllOf: contacts)
            let now = WallClock.nowMs()
            _ = try await database.write(
                .finish(
                    contact: contact.pollTarget, events: [], malformed: [], watermarkMs: now,
                    nextDueMs: now + 3_600_000, now: now))
            polls.end(contact.id, by: instance)
            return PendingPoll(contact, outcome: PollOutcome(result: .caughtUp), logger: logger)
        }
        scheduler.idleCheck = .milliseconds(50)
        scheduler.leasing = InstanceLease(store: database, instance: Self.instance(instance), durationMs: 30_000)
        return scheduler
    }

    static func instance(_ id: String) -> StoreInstance {
        StoreInstance(id: id, host: "localhost", pid: 1, startedMs: 0)
    }

    /// A heartbeat renewing the leases of polls in flight never waits for a contact row that a
    /// poll's commit holds: that commit locks its rows in its own order, so waiting could
    /// deadlock (PostgreSQL aborts one of the two). It renews the rest, and that one next time.
    @Test func heartbeatSkipsAContactRowACommitHolds() async throws {
        let server = try PostgresTestServer.configured()
        try await server.withTemporaryDatabase { endpoint in
            let store = try await PostgresEventStore.open(endpoint, password: server.password)
            _ = try await store.addContacts(
                [ContactReference(kind: .id, value: "A"), .init(kind: .id, value: "B")], now: 0)
            let me = Self.instance("one")
            let claimed = try await store.claimDueContacts(
                nowMs: 1_000, limit: 2, excluding: [], for: me, leaseUntilMs: 31_000)
            #expect(claimed.count == 2)
            let locked = claimed[0].id
            try await server.whileATransactionHolds(
                "SELECT id FROM contacts WHERE id = \(locked) FOR UPDATE", on: endpoint.database
            ) {
                // Were it waiting for the row, this would not return until the transaction ended.
                _ = try await store.heartbeat(
                    me, nowMs: 2_000, renewing: Set(claimed.map(\.id)), leaseUntilMs: 60_000, liveSinceMs: 0,
                    rateLimitedUntilMs: nil)
            }
            let other = try #require(claimed.last)
            // Renewed: the other instance cannot claim it at 31 000; the skipped one it can.
            let stolen = try await store.claimDueContacts(
                nowMs: 31_000, limit: 2, excluding: [], for: Self.instance("two"), leaseUntilMs: 61_000)
            #expect(stolen.map(\.id) == [locked], "\(other.id) renewed, \(locked) skipped")
            await store.close()
        }
    }

    @Test func twoLoopsPollEachContactOnceAndNeverAtOnce() async throws {
        try await PostgresTestServer.configured().withTemporaryDatabase { endpoint in
            let password = try PostgresTestServer.configured().password
            let first = try await PostgresEventStore.open(endpoint, password: password)
            let second = try await PostgresEventStore.open(endpoint, password: password)
            let references = (0..<60).map { ContactReference(kind: .id, value: "C\($0)") }
            _ = try await first.addContacts(references, now: 0)
            // Both were already running: each loop's first heartbeat finds two live instances.
            for id in ["one", "two"] {
                let now = WallClock.nowMs()
                _ = try await first.heartbeat(
                    Self.instance(id), nowMs: now, renewing: [], leaseUntilMs: now, liveSinceMs: now,
                    rateLimitedUntilMs: nil)
            }
            let polls = Polls()
            let loops = [
                scheduler(first, instance: "one", polls: polls, contacts: references.count),
                scheduler(second, instance: "two", polls: polls, contacts: references.count),
            ]
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for loop in loops { group.addTask { try await loop.run(logger: logger) } }
                    try await polls.changes.wait { polls.done.count >= references.count }
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            #expect(polls.done.count == references.count)
            #expect(polls.done.values.allSatisfy { $0 == 1 }, "each contact polled once")
            #expect(polls.overlaps == 0, "never by both at once")
            // They divide `maxConcurrentPolls` (4): two each.
            #expect(polls.mostAtOnceBy.values.allSatisfy { $0 <= 2 }, "\(polls.mostAtOnceBy)")
            #expect(polls.mostAtOnceBy.values.contains(2))
            // Both stopped gracefully: their leases given up, their rows gone.
            let status = try await first.status(now: WallClock.nowMs())
            #expect(status.instances.isEmpty)
            await first.close()
            await second.close()
        }
    }
}
