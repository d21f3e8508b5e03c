import Config
import Foundation
import Logging
import NP6Client
import NP6Fake
import NP6Model
import PostgresStore
import ServiceLifecycle
import ServiceLifecycleTestKit
import StoreTestSupport
import SyncStore
import Synchronization
import Testing

@testable import NP6Sync

/// The edges of sharing one PostgreSQL database between daemons: a heartbeat held up by the
/// loop, a poll or a start-up check that outlives its lease, hosts whose clocks disagree. Real
/// time and the real server; what is asserted (never two requests for one contact at once, how
/// long a pause holds) does not depend on how busy the machine is, beyond wide margins.
@Suite(.timeLimit(.minutes(5)), .enabled(if: PostgresTestServer.isEnabled)) struct ClusterLeaseTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func instance(_ id: String) -> StoreInstance {
        StoreInstance(id: id, host: "localhost", pid: 1, startedMs: 0)
    }

    /// Two stores on one new database, closed after `body`.
    func withTwoStores<T>(
        _ body: (PostgresEventStore, PostgresEventStore) async throws -> T
    ) async throws -> T {
        let server = try PostgresTestServer.configured()
        return try await server.withTemporaryDatabase { endpoint in
            let first = try await PostgresEventStore.open(endpoint, password: server.password)
            let second = try await PostgresEventStore.open(endpoint, password: server.password)
            do {
                let result = try await body(first, second)
                await first.close()
                await second.close()
                return result
            } catch {
                await first.close()
                await second.close()
                throw error
            }
        }
    }

    /// Runs the schedulers until `done` or 60 s, then shuts them down gracefully.
    func run(_ schedulers: [PollScheduler], until done: @escaping @Sendable () -> Bool) async throws {
        let logger = logger
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for scheduler in schedulers { group.addTask { try await scheduler.run(logger: logger) } }
                let deadline = ContinuousClock.now + .seconds(60)
                while !done(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    /// The loop's own queries (the status counts of `onTurn`, a read waiting behind a lock) do
    /// not hold the heartbeat up: it renews the leases on a task of its own. Before, it ran in
    /// the loop, after them, and a loop held up longer than the lease let the leases lapse.
    @Test func heartbeatsGoOnWhileTheLoopWaitsForItsQueries() async throws {
        try await withTwoStores { store, _ in
            let beats = Mutex<[Int64]>([])
            let turnHeldUntil = Mutex<Int64?>(nil)
            var scheduler = PollScheduler(database: store, maxConcurrentPolls: 1, wallNowMs: WallClock.nowMs) {
                contact in PendingPoll(contact, outcome: PollOutcome(result: .caughtUp), logger: logger)
            }
            scheduler.leasing = InstanceLease(store: store, instance: Self.instance("one"), durationMs: 3_000)
            scheduler.onHeartbeat = { _ in beats.withLock { $0.append(WallClock.nowMs()) } }
            scheduler.onTurn = { _ in
                // The first turn's queries wait 3.5 s (a lock, a slow server).
                let start = turnHeldUntil.withLock { held -> Int64? in
                    guard held == nil else { return nil }
                    held = WallClock.nowMs() + 3_500
                    return held
                }
                if let start { try await Task.sleep(for: .milliseconds(start - WallClock.nowMs())) }
            }
            // Until half a second after the wait ended (a loaded machine may take a while to get there).
            try await run([scheduler]) { (turnHeldUntil.withLock { $0 }).map { WallClock.nowMs() > $0 + 500 } ?? false }
            let heldUntil = try #require(turnHeldUntil.withLock { $0 })
            let during = beats.withLock { $0 }.filter { $0 > heldUntil - 3_500 && $0 < heldUntil }
            // One every second (a third of the lease, at most 1 s): three or so while the loop waited.
            #expect(during.count >= 2, "heartbeats while the loop waited 3.5 s: \(during.count)")
        }
    }

    /// A poll whose lease ran out (its heartbeats could not renew it: the daemon was cut off or
    /// frozen) stops asking the API, so the instance that takes the contact over is the only one
    /// asking. Before, a long backfill went on window after window beside the new holder.
    @Test func aPollThatLostItsLeaseStopsAskingTheAPI() async throws {
        var fake = FakeNP6Configuration(contactCount: 1, eventsPerContact: 30...30)
        fake.knobs.latencyMs = 150
        try await withFakeNP6API(configuration: fake, logger: logger) { api in
            try await withTwoStores { first, second in
                let reference = ContactReference(kind: .id, value: await api.state.contacts[0].id)
                _ = try await first.addContacts([reference], now: 0)
                let client = NP6Client(
                    configuration: NP6ClientConfiguration(
                        baseURL: api.baseURL, apiKey: fake.apiKey, timeoutSeconds: 20),
                    now: WallClock.nowMs)
                defer { Task { try? await client.shutdown() } }
                func poller(_ database: PostgresEventStore) -> ContactPoller {
                    // A backfill of two years in 10-day windows: 73 requests, 11 s at least.
                    ContactPoller(
                        client: client, database: database,
                        windows: WindowPolicy(initialStartMs: fake.historyStartMs, maxWindowMs: 10 * 86_400_000),
                        schedule: SchedulePolicy(),
                        pacer: RequestPacer(requestsPerSecond: 1_000, wallNowMs: WallClock.nowMs),
                        wallNowMs: WallClock.nowMs)
                }
                // The first instance claims the contact for 1.5 s and nothing renews it.
                let leases = ContactLeases(durationMs: 1_500)
                let now = WallClock.nowMs()
                let mine = try #require(
                    try await first.claimDueContacts(
                        nowMs: now, limit: 1, excluding: [], for: Self.instance("one"), leaseUntilMs: now + 1_500
                    ).first)
                leases.hold([mine], untilMs: now + 1_500)
                var frozenPoller = poller(first)
                frozenPoller.mayAsk = { leases.mayAsk($0, nowMs: WallClock.nowMs()) }
                let logger = logger
                async let frozen = frozenPoller.poll(mine, logger: logger)
                // The second claims it once the lease is over, and polls it.
                try await Task.sleep(for: .milliseconds(1_600))
                let theirs = try #require(
                    try await second.claimDueContacts(
                        nowMs: WallClock.nowMs(), limit: 1, excluding: [], for: Self.instance("two"),
                        leaseUntilMs: WallClock.nowMs() + 60_000
                    ).first)
                let taken = try await poller(second).poll(theirs, logger: logger)
                let stopped = try await frozen
                #expect(stopped.stoppedWithoutLease)
                #expect(stopped.requests < 10, "asked \(stopped.requests) windows")
                #expect(taken.result == .caughtUp)
                #expect(api.state.requestConcurrency.summary.maxPerContact == 1)
                #expect(try await second.eventIDs() == Set(await api.state.allEvents().map(\.id)))
            }
        }
    }

    /// Two daemons start together with the start-up API check on, against an API that answers
    /// in 0.7 s, with 2 s leases: the checks outlast the leases they claimed. They are renewed
    /// by the heartbeat while the checks run and given up with their tokens, so no contact is
    /// ever asked by both daemons at once. Before, the lease ran out under the check, and the
    /// other daemon (or this one's scheduler) polled the contact beside it.
    @Test func startUpChecksThatOutlastTheLeaseNeverAskAContactTwiceAtOnce() async throws {
        var fake = FakeNP6Configuration(contactCount: 6, eventsPerContact: 3...6)
        fake.knobs.latencyMs = 700
        let server = try PostgresTestServer.configured()
        try await withFakeNP6API(configuration: fake, logger: logger) { api in
            try await server.withTemporaryDatabase { endpoint in
                let contacts = await api.state.contacts.map { #"{"id": "\#($0.id)"}"# }.joined(separator: ",")
                var configuration = try SyncConfiguration.parse(
                    """
                    {"api": {"baseURL": "\(api.baseURL)", "requestsPerSecond": 100},
                     "database": {"url": "postgresql://test@127.0.0.1/test"},
                     "schedule": {"intervalSeconds": 1, "jitterSeconds": 0}, "contacts": [\(contacts)]}
                    """, environment: [:])
                configuration.database.leaseSeconds = 2
                let configured = configuration
                let open: Runtime.StoreOpener = { _ in
                    try await PostgresEventStore.open(endpoint, password: server.password)
                }
                var daemons: [Daemon] = []
                for _ in 0..<2 {
                    daemons.append(
                        try await Daemon.make(
                            configuration: configured, apiKey: APIKey(unredactedValue: fake.apiKey),
                            environment: [:], logger: logger, openStore: open,
                            reloadConfiguration: { configured }))
                }
                let running = daemons
                try await testGracefulShutdown { trigger in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for daemon in running { group.addTask { try await daemon.run() } }
                        // The checks take some 10 requests of 0.7 s: about 7 s, past three leases;
                        // then the daemons poll. Until 16 requests were answered (or a minute).
                        let deadline = ContinuousClock.now + .seconds(60)
                        while await api.state.requestLog.count < 16, ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(100))
                        }
                        trigger.triggerGracefulShutdown()
                        try await group.waitForAll()
                    }
                }
                let summary = api.state.requestConcurrency.summary
                #expect(summary.maxPerContact == 1, "contacts asked by both at once: \(summary.overlapped)")
                #expect(await api.state.requestLog.count >= 16)
            }
        }
    }

    /// Instances whose clocks disagree by 10 s, with 3 s leases: the one ahead would see every
    /// lease of the other as over and poll its contacts beside it. Leases are written and
    /// compared in the database's time (`ClusterClock`), so each contact is polled once.
    @Test func instancesWhoseClocksDifferNeverPollOneContactAtOnce() async throws {
        try await withTwoStores { first, second in
            let references = (0..<40).map { ContactReference(kind: .id, value: "C\($0)") }
            _ = try await first.addContacts(references, now: 0)
            let running = Mutex<[Int64: Int]>([:])
            let overlaps = Mutex(0)
            let done = Mutex<[Int64: Int]>([:])
            func scheduler(_ database: PostgresEventStore, _ id: String, skewMs: Int64) -> PollScheduler {
                let logger = logger
                let wallNowMs: @Sendable () -> Int64 = { WallClock.nowMs() + skewMs }
                var scheduler = PollScheduler(database: database, maxConcurrentPolls: 4, wallNowMs: wallNowMs) {
                    contact in
                    running.withLock {
                        $0[contact.id, default: 0] += 1
                        if $0[contact.id]! > 1 { overlaps.withLock { $0 += 1 } }
                    }
                    try await Task.sleep(for: .milliseconds(150))
                    running.withLock { $0[contact.id, default: 0] -= 1 }
                    done.withLock { $0[contact.id, default: 0] += 1 }
                    _ = try await database.write(
                        .finish(
                            contact: contact.pollTarget, events: [], malformed: [], watermarkMs: wallNowMs(),
                            nextDueMs: wallNowMs() + 3_600_000, now: wallNowMs()))
                    return PendingPoll(contact, outcome: PollOutcome(result: .caughtUp), logger: logger)
                }
                scheduler.idleCheck = .milliseconds(50)
                scheduler.leasing = InstanceLease(store: database, instance: Self.instance(id), durationMs: 3_000)
                return scheduler
            }
            try await run([scheduler(first, "one", skewMs: 0), scheduler(second, "two", skewMs: 10_000)]) {
                done.withLock { $0.count } == references.count
            }
            #expect(overlaps.withLock { $0 } == 0, "a contact polled by both at once")
            #expect(done.withLock { $0.count } == references.count)
            #expect(done.withLock { $0.values.allSatisfy { $0 == 1 } }, "each contact polled once")
        }
    }

    /// A 20 s pause the API imposed on one instance holds another whose clock is 10 s behind for
    /// those 20 s, not 30, and one 10 s ahead for 20 s, not 10: the pause is shared in the
    /// database's time and handed to the pacer in the local one.
    @Test func aSharedPauseLastsWhatTheAPISaidOnEveryClock() async throws {
        try await withTwoStores { first, second in
            func scheduler(_ database: PostgresEventStore, _ id: String, skewMs: Int64) -> PollScheduler {
                var scheduler = PollScheduler(
                    database: database, maxConcurrentPolls: 1, wallNowMs: { WallClock.nowMs() + skewMs }
                ) { contact in PendingPoll(contact, outcome: PollOutcome(result: .caughtUp), logger: logger) }
                scheduler.leasing = InstanceLease(store: database, instance: Self.instance(id), durationMs: 30_000)
                return scheduler
            }
            let health = DatabaseHealth(logger: logger, metrics: nil, wallNowMs: WallClock.nowMs)
            var paused = scheduler(first, "one", skewMs: 0)
            let pauseEnd = Mutex<Int64>(0)
            paused.imposedPauseUntilMs = { pauseEnd.withLock { $0 } }
            let pausedLease = try #require(paused.leasing)
            for (skewMs, id) in [(-10_000 as Int64, "behind"), (10_000, "ahead")] {
                pauseEnd.withLock { $0 = WallClock.nowMs() + 20_000 }
                _ = try #require(
                    await paused.heartbeat(
                        pausedLease, leases: ContactLeases(durationMs: 5_000),
                        cluster: ClusterClock(wallNowMs: paused.wallNowMs), health: health))
                let other = scheduler(second, id, skewMs: skewMs)
                let otherLease = try #require(other.leasing)
                let share = try #require(
                    await other.heartbeat(
                        otherLease, leases: ContactLeases(durationMs: 5_000),
                        cluster: ClusterClock(wallNowMs: other.wallNowMs), health: health))
                // What is left of the pause, on this instance's clock and in real time.
                let heldFor = try #require(share.rateLimitedUntilMs, "the pause reached \(id)") - other.wallNowMs()
                let left = pauseEnd.withLock { $0 } - WallClock.nowMs()
                // Within 2 s: the offset is measured to half a heartbeat's round trip, which a
                // loaded machine stretches (531 ms seen); the clocks are 10 s apart, so 10 s is
                // what a pause read in the wrong clock would be off by.
                #expect(abs(heldFor - left) < 2_000, "\(id): held for \(heldFor) ms of its clock, \(left) ms left")
            }
        }
    }
}
