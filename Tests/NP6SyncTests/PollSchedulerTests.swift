import Foundation
import GRDB
import Logging
import NP6Client
import ServiceLifecycle
import ServiceLifecycleTestKit
@testable import SQLiteStore
import SyncStore
import Synchronization
import Testing
import NP6Model
import Config
import Sinks

@testable import NP6Sync

/// Counts polls and how many ran at once.
final class PollRecorder: Sendable {
    private let state = Mutex<(order: [String], running: Int, maxRunning: Int)>(([], 0, 0))

    func begin(_ contact: StoredContact) {
        state.withLock {
            $0.order.append(contact.reference.value)
            $0.running += 1
            $0.maxRunning = max($0.maxRunning, $0.running)
        }
    }

    func end() { state.withLock { $0.running -= 1 } }
    var order: [String] { state.withLock { $0.order } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }
}

@Suite struct PollSchedulerTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A scheduler whose polls take `pollTime`, record themselves and push the contact an hour ahead.
    func scheduler(_ database: SQLiteEventStore, limit: Int, recorder: PollRecorder, pollTime: Duration = .zero,
                   result: PollResult = .caughtUp) -> PollScheduler {
        var scheduler = PollScheduler(database: database, maxConcurrentPolls: limit, wallNowMs: WallClock.nowMs) { contact in
            recorder.begin(contact)
            defer { recorder.end() }
            try await Task.sleep(for: pollTime)
            _ = try await database.write(.finish(
                contactID: contact.id, events: [], malformed: [], watermarkMs: WallClock.nowMs(),
                nextDueMs: WallClock.nowMs() + 3_600_000, now: WallClock.nowMs()))
            return PendingPoll(contact, outcome: PollOutcome(result: result), logger: logger)
        }
        scheduler.idleCheck = .milliseconds(50)
        return scheduler
    }

    func contacts(_ count: Int) -> [ContactReference] {
        (0..<count).map { ContactReference(kind: .id, value: String(format: "C%03d", $0)) }
    }

    /// Runs the scheduler until `until` holds (or 10 s pass), then shuts it down gracefully.
    func run(_ scheduler: PollScheduler, until: @escaping @Sendable () async throws -> Bool) async throws {
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await scheduler.run(logger: logger) }
                let deadline = ContinuousClock.now + .seconds(60)
                while try await !until(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                trigger.triggerGracefulShutdown()
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
            let recorder = PollRecorder()
            try await run(scheduler(database, limit: 1, recorder: recorder)) { recorder.order.count == 5 }
            #expect(recorder.order == ["C003", "C001", "C000", "C002", "C004"])
        }
    }

    @Test func concurrencyNeverExceedsTheLimit() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts(contacts(20), now: 0)
            let recorder = PollRecorder()
            try await run(scheduler(database, limit: 3, recorder: recorder, pollTime: .milliseconds(30))) {
                recorder.order.count == 20
            }
            #expect(recorder.maxRunning == 3)
            #expect(Set(recorder.order).count == 20, "each due contact polled once")
        }
    }

    @Test func contactAddedByPlainSQLIsPickedUpWithoutARestart() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts(contacts(1), now: 0)
            let recorder = PollRecorder()
            let added = Mutex(false)
            try await run(scheduler(database, limit: 2, recorder: recorder)) {
                if recorder.order.count == 1, !added.withLock({ $0 }) {
                    try await database.pool.write { db in
                        try db.execute(sql: "INSERT INTO contacts (kind, value) VALUES ('unicity', 'late@example.com')")
                    }
                    added.withLock { $0 = true }
                }
                return recorder.order.contains("late@example.com")
            }
            #expect(recorder.order == ["C000", "late@example.com"])
        }
    }

    @Test func refusedKeyStopsTheLoop() async throws {
        try await withTemporaryDatabase { database in
            _ = try await database.addContacts(contacts(5), now: 0)
            let recorder = PollRecorder()
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
            let recorder = PollRecorder()
            let started = ContinuousClock.now
            try await run(scheduler(database, limit: 2, recorder: recorder, pollTime: .milliseconds(500))) {
                recorder.order.count == 2
            }
            // Both polls finished (and committed) before the scheduler returned.
            #expect(ContinuousClock.now - started >= .milliseconds(500))
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
