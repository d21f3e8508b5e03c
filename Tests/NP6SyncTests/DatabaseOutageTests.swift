import Foundation
import GRDB
import InMemoryLogging
import Logging
import NP6Model
import Prometheus
import ServiceLifecycle
import ServiceLifecycleTestKit
import StoreTestSupport
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import NP6Sync
@testable import SQLiteStore

/// The database refusing writes (another connection holds the lock past the busy timeout) never
/// stops the engine: polls fail and back off, and everything catches up once the lock is gone.
@Suite(.timeLimit(.minutes(3))) struct DatabaseOutageTests {
    @Test func writeLockHeldPastTheBusyTimeoutStopsNothingAndEverythingCatchesUp() async throws {
        try await withSyncFixture(busyTimeout: .milliseconds(50)) { fixture in
            let references = try await fixture.addFakeContacts()
            let expected = await fixture.fakeEventIDs()
            #expect(!expected.isEmpty)
            let clock = ManualClock()
            let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
            let health = DatabaseHealth(
                logger: fixture.logger, metrics: metrics, wallNowMs: WallClock.nowMs, quietMs: 0)
            let poller = ContactPoller(
                client: fixture.client, database: fixture.database, windows: fixture.windows,
                schedule: SchedulePolicy(),
                pacer: RequestPacer(requestsPerSecond: 1_000, wallNowMs: WallClock.nowMs), wallNowMs: WallClock.nowMs)
            let logger = fixture.logger
            var scheduler = PollScheduler(
                database: fixture.database, maxConcurrentPolls: 4, wallNowMs: WallClock.nowMs
            ) { contact in try await poller.fetch(contact, logger: logger) }
            scheduler.clock = clock
            scheduler.idleCheck = .milliseconds(50)
            scheduler.health = health
            let refused = Mutex<[DatabaseErrorCode]>([])
            let caughtUp = Mutex(0)
            scheduler.onPoll = { _, outcome in
                switch outcome.result {
                case .databaseFailed(let code, _): refused.withLock { $0.append(code) }
                case .caughtUp: caughtUp.withLock { $0 += 1 }
                default: break
                }
                clock.changes.signal()
            }
            let lock = try ForeignWriteLock(path: fixture.database.path)
            var stalled: (events: Int, watermarks: [Int64?]) = (0, [])
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let finished = Mutex(false)
                    group.addTask { [scheduler] in
                        try await scheduler.run(logger: logger)
                        finished.withLock { $0 = true }
                        clock.changes.signal()
                    }
                    // Waits until `condition` holds, looking again after each poll and each time
                    // the loop sleeps; time moves on for its ticks and backoffs whenever it waits
                    // (its tick is at most `idleCheck`, so each move wakes it).
                    func wait(until condition: () -> Bool) async throws {
                        try await clock.changes.wait(timeout: .seconds(120)) {
                            if condition() { return true }
                            if !clock.sleeperDeadlines.isEmpty { clock.advance(by: .milliseconds(50)) }
                            return false
                        }
                    }
                    // Held: every poll's writes are refused, many times over; the loop goes on.
                    try await wait { refused.withLock({ $0.count }) >= 3 * references.count }
                    #expect(!finished.withLock { $0 }, "the scheduler still runs")
                    #expect(health.condition?.code == .busy)
                    stalled.events = try await fixture.storedEventCount()
                    stalled.watermarks = try await fixture.database.contacts(limit: 100, enabledOnly: true).map(
                        \.watermarkMs)
                    try lock.release()
                    // Released: every contact catches up by itself.
                    try await wait { caughtUp.withLock({ $0 }) >= references.count }
                    trigger.triggerGracefulShutdown()
                    try await wait { finished.withLock({ $0 }) }
                    try await group.waitForAll()
                }
            }
            #expect(stalled.events == 0, "nothing was stored while the lock was held")
            #expect(stalled.watermarks.allSatisfy { $0 == nil }, "no watermark moved while the lock was held")
            #expect(refused.withLock { $0 }.allSatisfy { $0 == .busy })
            #expect(caughtUp.withLock { $0 } == references.count, "each contact polled once successfully")
            #expect(try await fixture.database.eventIDs() == expected)
            #expect(try await fixture.storedEventCount() == expected.count, "every event stored exactly once")
            for contact in try await fixture.database.contacts(limit: 100, enabledOnly: true) {
                #expect(contact.lastStatus == .ok)
                #expect(try #require(contact.watermarkMs) > WallClock.nowMs() - 120_000)
            }
            #expect(health.condition == nil)
            let lines = fixture.loggedLines
            #expect(lines.filter { $0.contains("The database refuses the daemon") }.count == 1, "logged once")
            #expect(lines.contains { $0.hasPrefix("error The database refuses the daemon") && $0.contains("busy") })
            #expect(lines.contains { $0.hasPrefix("info") && $0.contains("The database answers again") })
            let busy = try #require(
                metrics.exposition().split(separator: "\n").first {
                    $0.hasPrefix(#"np6sync_database_errors_total{code="busy"}"#)
                })
            #expect(Double(busy.split(separator: " ").last ?? "") ?? 0 >= Double(3 * references.count))
        }
    }

    @Test func syncPassFinishesWhileTheDatabaseIsLockedAndNamesEveryContact() async throws {
        try await withSyncFixture(busyTimeout: .milliseconds(50)) { fixture in
            let references = try await fixture.addFakeContacts()
            let lock = try ForeignWriteLock(path: fixture.database.path)
            let locked = try await fixture.pass().run(logger: fixture.logger)
            try lock.release()
            #expect(locked.run.contactsPolled == references.count)
            #expect(locked.run.contactsFailed == references.count)
            #expect(Set(locked.failures.map { $0.contact }) == Set(references))
            #expect(locked.failures.allSatisfy { $0.error.contains("locked") }, "\(locked.failures.first?.error ?? "")")
            #expect(fixture.loggedLines.contains { $0.contains("summary could not be recorded") })
            #expect(try await fixture.storedEventCount() == 0)

            let next = try await fixture.pass().run(logger: fixture.logger)
            #expect(next.failures.isEmpty)
            #expect(try await fixture.database.eventIDs() == (await fixture.fakeEventIDs()))
        }
    }

    @Test func monitorKeepsPublishingWhileTheDatabaseRefusesAndRecordsTheOutageInTheCycle() async throws {
        try await withSyncFixture(busyTimeout: .milliseconds(50)) { fixture in
            try await fixture.addFakeContacts()
            let now = Mutex<Int64>(1_800_000_000_000)
            let wallNowMs: @Sendable () -> Int64 = { now.withLock { $0 } }
            let health = DatabaseHealth(logger: fixture.logger, metrics: nil, wallNowMs: wallNowMs, quietMs: 0)
            let published = Mutex<[String]>([])
            let monitor = DaemonMonitor(
                database: fixture.database, intervalMs: 60_000, requestsPerSecond: 5, wallNowMs: wallNowMs,
                logger: fixture.logger, metrics: nil, configuredSinks: { [] }, health: health,
                publishStatus: { line in published.withLock { $0.append(line) } })
            try await monitor.turn(pacerPauses: 0)
            let lock = try ForeignWriteLock(path: fixture.database.path)
            health.failed(
                .busy, message: "SQLite error 5: database is locked", operation: "poll writes", isWrite: true)
            try await monitor.turn(pacerPauses: 0)  // a new condition is published at once
            #expect(published.withLock { $0.last ?? "" }.hasPrefix("database busy since 2027-01-15T08:00:00"))
            now.withLock { $0 += 61_000 }
            try await monitor.turn(pacerPauses: 0)  // the cycle ends; its row cannot be written
            try lock.release()
            health.succeeded(isWrite: true)
            now.withLock { $0 += 61_000 }
            try await monitor.turn(pacerPauses: 0)
            #expect(!(published.withLock { $0.last ?? "" }.contains("database")))
            let lastRun = try #require(try await fixture.database.status(now: wallNowMs()).lastRun)
            #expect(
                lastRun.error?.hasPrefix("database busy from 2027-01-15T08:00:00") == true, "\(lastRun.error ?? "")")
        }
    }
}

@Suite struct DatabaseHealthTests {
    @Test func logsOnceRemindsEveryMinuteAndEndsAfterAQuietSpell() {
        let logs = InMemoryLogHandler()
        let now = Mutex<Int64>(1_800_000_000_000)
        let metrics = SyncMetrics(registry: PrometheusCollectorRegistry())
        let health = DatabaseHealth(
            logger: Logger(label: "test", factory: { _ in logs }), metrics: metrics, wallNowMs: { now.withLock { $0 } })
        let messages = { logs.entries.map { "\($0.level) \($0.message)" } }
        health.failed(.full, message: "SQLite error 13", operation: "poll writes", isWrite: true)
        now.withLock { $0 += 2_000 }
        health.succeeded(isWrite: true)  // a write that needed no new page, between refused ones
        health.failed(.full, message: "SQLite error 13", operation: "poll writes", isWrite: true)
        health.succeeded(isWrite: false)  // a read ends no refused write
        #expect(messages().count == 1, "one error line for the condition, not one per refusal")
        #expect(health.statusLine == "database full since 2027-01-15T08:00:00.000Z (2 errors)")
        now.withLock { $0 += 60_000 }
        health.failed(.full, message: "SQLite error 13", operation: "poll writes", isWrite: true)
        #expect(messages().last == "error The database still refuses the daemon")
        now.withLock { $0 += 10_000 }
        health.succeeded(isWrite: true)
        #expect(health.condition == nil)
        #expect(messages().last == "info The database answers again; polls resume")
        #expect(logs.entries.last?.metadata["duration_s"] == "72")
        #expect(
            health.takeRunSummary()?.hasPrefix("database full from 2027-01-15T08:00:00.000Z for 72 s, 3 errors") == true
        )
        #expect(health.takeRunSummary() == nil, "reported once after it ended")
        #expect(metrics.exposition().contains(#"np6sync_database_errors_total{code="full"} 3"#))
    }
}
