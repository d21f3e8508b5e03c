import Config
import Foundation
import GRDB
import Logging
import NP6Client
import NP6Model
import ServiceLifecycle
import ServiceLifecycleTestKit
import Sinks
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import NP6Sync
@testable import SQLiteStore

/// Counts polls, how many ran at once and how many completed; signals `changes` at each.
final class PollRecorder: Sendable {
    private let state = Mutex<(order: [String], running: Int, maxRunning: Int, completed: Int)>(([], 0, 0, 0))
    let changes: StateChanges

    init(signalling changes: StateChanges) {
        self.changes = changes
    }

    func begin(_ contact: StoredContact) {
        state.withLock {
            $0.order.append(contact.reference.value)
            $0.running += 1
            $0.maxRunning = max($0.maxRunning, $0.running)
        }
        changes.signal()
    }

    func end() {
        state.withLock { $0.running -= 1 }
        changes.signal()
    }

    func complete() {
        state.withLock { $0.completed += 1 }
        changes.signal()
    }
    var order: [String] { state.withLock { $0.order } }
    var running: Int { state.withLock { $0.running } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }
    var completed: Int { state.withLock { $0.completed } }
}

/// The scheduler on a manual clock: its ticks, the polls' duration and the wall clock of due
/// times all move only when a test advances the clock, so no test depends on the machine's load.
@Suite(.timeLimit(.minutes(5))) struct PollSchedulerTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let clock = ManualClock()

    /// A scheduler whose polls take `pollTime`, record themselves (and their completion) and
    /// push the contact an hour ahead.
    func scheduler(
        _ database: SQLiteEventStore, limit: Int, recorder: PollRecorder, pollTime: Duration = .zero,
        result: PollResult = .caughtUp
    ) -> PollScheduler {
        let clock = clock
        let wallNowMs: @Sendable () -> Int64 = { clock.wallNowMs }
        var scheduler = PollScheduler(database: database, maxConcurrentPolls: limit, wallNowMs: wallNowMs) {
            contact in
            recorder.begin(contact)
            defer { recorder.end() }
            try await clock.sleep(for: pollTime)
            _ = try await database.write(
                .finish(
                    contact: contact.pollTarget, events: [], malformed: [], watermarkMs: clock.wallNowMs,
                    nextDueMs: clock.wallNowMs + 3_600_000, now: clock.wallNowMs))
            return PendingPoll(contact, outcome: PollOutcome(result: result), logger: logger)
        }
        scheduler.idleCheck = .milliseconds(50)
        scheduler.clock = clock
        scheduler.onPoll = { _, _ in recorder.complete() }
        return scheduler
    }

    func contacts(_ count: Int) -> [ContactReference] {
        (0..<count).map { ContactReference(kind: .id, value: String(format: "C%03d", $0)) }
    }

    /// Runs the scheduler until `until` holds, calling `step` between two looks (to move the
    /// clock), then shuts it down gracefully. It looks again each time a poll begins, ends or
    /// completes and each time a task starts or stops sleeping on the clock, never on a timer;
    /// it gives up after 60 s of real time without the condition.
    ///
    /// Once shut down, the loop notices at its next turn: each time it sleeps on its tick, the
    /// clock moves on by `idleCheck`. Call it with no poll in flight (the tests wait for the
    /// polls to complete), so that the first turn after the shutdown ends the loop.
    /// Ends the running polls (moves the clock by `pollTime`) once as many run as the limit allows
    /// (fewer at the end) and each is asleep for its `pollTime`.
    func endPollsOnceAllAsleep(_ recorder: PollRecorder, limit: Int, contacts: Int, pollTime: Duration) {
        let running = recorder.running
        let ended = recorder.order.count - running
        let asleep = clock.sleeperDeadlines.filter { $0 == clock.now.advanced(by: pollTime) }.count
        if running > 0, running == min(limit, contacts - ended), asleep == running { clock.advance(by: pollTime) }
    }

    func run(
        _ scheduler: PollScheduler,
        until: @escaping @Sendable () async throws -> Bool,
        step: @Sendable () async throws -> Void = {}
    ) async throws {
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                let finished = Mutex(false)
                group.addTask { [clock] in
                    try await scheduler.run(logger: logger)
                    finished.withLock { $0 = true }
                    clock.changes.signal()
                }
                try await clock.changes.wait {
                    if try await until() { return true }
                    try await step()
                    return false
                }
                trigger.triggerGracefulShutdown()
                try await clock.changes.wait {
                    if finished.withLock({ $0 }) { return true }
                    if !clock.sleeperDeadlines.isEmpty { clock.advance(by: scheduler.idleCheck) }
                    return false
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func dueContactsArePolledOldestDueFirst() async throws {
        try await withTemporaryDatabase { database in
            let references = contacts(5)
            _ = try await database.addContacts(references, now: 0)
            // Make C003 the oldest due, then C001, then the rest by id.
            try await database.pool.write { db in
                try db.execute(sql: "UPDATE contacts SET next_due_ms = 100 WHERE value = 'C003'")
                try db.execute(sql: "UPDATE contacts SET next_due_ms = 200 WHERE value = 'C001'")
                try db.execute(sql: "UPDATE contacts SET next_due_ms = 300 WHERE value NOT IN ('C001', 'C003')")
            }
            let recorder = PollRecorder(signalling: clock.changes)
            try await run(scheduler(database, limit: 1, recorder: recorder)) { recorder.completed == 5 }
            #expect(recorder.order == ["C003", "C001", "C000", "C002", "C004"])
        }
    }

    @Test func concurrencyNeverExceedsTheLimit() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts(contacts(20), now: 0)
            let recorder = PollRecorder(signalling: clock.changes)
            let pollTime = Duration.milliseconds(30)
            try await run(
                scheduler(database, limit: 3, recorder: recorder, pollTime: pollTime),
                until: { recorder.completed == 20 },
                step: { endPollsOnceAllAsleep(recorder, limit: 3, contacts: 20, pollTime: pollTime) })
            #expect(recorder.maxRunning == 3)
            #expect(Set(recorder.order).count == 20, "each due contact polled once")
        }
    }

    /// The leases of an instance alone on its database: a claim is the due contacts read, the
    /// heartbeat counts one instance; records the limit of each claim.
    final class LoneInstanceLeases: LeaseStore {
        let database: SQLiteEventStore
        let claimLimits = Mutex<[Int]>([])

        init(database: SQLiteEventStore) {
            self.database = database
        }

        func claimDueContacts(
            nowMs: Int64, limit: Int, excluding: Set<Int64>, for instance: StoreInstance, leaseUntilMs: Int64
        ) async throws -> [StoredContact] {
            claimLimits.withLock { $0.append(limit) }
            return try await database.dueContacts(nowMs: nowMs, limit: limit, excluding: excluding)
        }

        func heartbeat(
            _ instance: StoreInstance, nowMs: Int64, renewing: Set<Int64>, leaseUntilMs: Int64, liveSinceMs: Int64,
            rateLimitedUntilMs: Int64?
        ) async throws -> ClusterShare {
            ClusterShare(liveInstances: 1)
        }

        func releaseLeases(of instance: StoreInstance) async throws {}
        func releaseLeases(_ claims: [PollTarget], of instance: StoreInstance) async throws {}
        func claimSinkLease(
            _ sink: String, for instance: StoreInstance, nowMs: Int64, leaseUntilMs: Int64
        ) async throws -> Int64? { 0 }
        func releaseSinkLease(_ sink: String, of instance: StoreInstance) async throws {}
    }

    @Test func leasingSchedulerClaimsWhatItStartsAndHeartbeats() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts(contacts(20), now: 0)
            let recorder = PollRecorder(signalling: clock.changes)
            let pollTime = Duration.milliseconds(30)
            let heartbeats = Mutex<[Int]>([])
            let leases = LoneInstanceLeases(database: database)
            var leasing = scheduler(database, limit: 3, recorder: recorder, pollTime: pollTime)
            leasing.leasing = InstanceLease(
                store: leases, instance: StoreInstance(id: "test", host: "localhost", pid: 1, startedMs: 0),
                durationMs: 30_000)
            leasing.onHeartbeat = { share in heartbeats.withLock { $0.append(share.liveInstances) } }
            try await run(
                leasing,
                until: { recorder.completed == 20 },
                step: { endPollsOnceAllAsleep(recorder, limit: 3, contacts: 20, pollTime: pollTime) })
            #expect(recorder.maxRunning == 3)
            #expect(Set(recorder.order).count == 20, "each due contact polled once")
            #expect(heartbeats.withLock { $0.first } == 1)
            // Only as many as start at once are claimed: a claimed contact never waits in a queue.
            #expect(leases.claimLimits.withLock { !$0.isEmpty && $0.allSatisfy { (1...3).contains($0) } })
        }
    }

    @Test func contactAddedByPlainSQLIsPickedUpWithoutARestart() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts(contacts(1), now: 0)
            let recorder = PollRecorder(signalling: clock.changes)
            let added = Mutex(false)
            try await run(
                scheduler(database, limit: 2, recorder: recorder),
                until: {
                    if recorder.order.count == 1, !added.withLock({ $0 }) {
                        try await database.pool.write { db in
                            try db.execute(
                                sql: "INSERT INTO contacts (kind, value) VALUES ('unicity', 'late@example.com')")
                        }
                        added.withLock { $0 = true }
                    }
                    return recorder.order.contains("late@example.com") && recorder.completed == 2
                },
                step: {
                    // The loop looks at the database again at its next tick.
                    if !clock.sleeperDeadlines.isEmpty { clock.advance(by: .milliseconds(50)) }
                })
            #expect(recorder.order == ["C000", "late@example.com"])
        }
    }

    @Test func refusedKeyStopsTheLoop() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts(contacts(5), now: 0)
            let recorder = PollRecorder(signalling: clock.changes)
            let scheduler = scheduler(database, limit: 1, recorder: recorder, result: .unauthorized(status: 401))
            await #expect(throws: DaemonError.self) {
                try await scheduler.run(logger: logger)
            }
            #expect(recorder.order.count == 1)
        }
    }

    @Test func gracefulShutdownLetsPollsInFlightFinish() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts(contacts(2), now: 0)
            let recorder = PollRecorder(signalling: clock.changes)
            let started = clock.now
            let pollTime = Duration.milliseconds(500)
            let scheduler = scheduler(database, limit: 2, recorder: recorder, pollTime: pollTime)
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await scheduler.run(logger: logger) }
                    // Shut down while both polls are in flight, then let their time pass.
                    try await clock.waitForSleepers(2, until: started.advanced(by: pollTime))
                    trigger.triggerGracefulShutdown()
                    clock.advance(by: pollTime)
                    try await group.waitForAll()
                }
            }
            // Both polls finished (and committed) before the scheduler returned.
            #expect(started.duration(to: clock.now) >= .milliseconds(500))
            let polled = try await database.contacts(limit: 10, enabledOnly: true)
            #expect(polled.allSatisfy { $0.lastStatus == .ok })
        }
    }
}

func withTemporaryDatabase<T>(_ body: (SQLiteEventStore) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("np6-sched-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(SQLiteEventStore.open(path: directory.appendingPathComponent("test.sqlite").path))
}
