import Logging
import ServiceLifecycle
import SyncStore
import Synchronization

/// The daemon's polling loop: driven by the database (`contacts.next_due_ms`, oldest due first),
/// at most `maxConcurrentPolls` making requests (a poll whose writes are committing does not
/// count, see `ContactPoller`), re-reading the due contacts at least every second, so a
/// contact added by the CLI or by plain SQL is polled without a restart and a million contacts
/// never sit in memory.
///
/// On graceful shutdown it starts no new poll, lets the polls in flight finish for up to
/// `shutdownGrace`, then cancels them: each batch they committed is consistent on its own.
///
/// A database that refuses it (locked past the busy timeout, full, I/O error, read-only) never
/// stops it: a poll whose writes were refused is a failed attempt of its contact, which is backed
/// off in memory, new polls pause while the database refuses them, a refused read is read again
/// later, and `health` logs the condition and counts it (`DatabaseBackoff`).
public struct PollScheduler: Sendable {
    /// Makes a contact's requests and queues its writes (`ContactPoller.fetch`).
    public typealias Poll = @Sendable (StoredContact) async throws -> PendingPoll

    public var database: any ScheduleStore & PollWriteStore
    public var maxConcurrentPolls: Int
    public var poll: Poll
    public var wallNowMs: @Sendable () -> Int64
    /// Longest sleep between two looks at the database.
    public var idleCheck: Duration = .seconds(1)
    public var shutdownGrace: Duration = .seconds(5)
    /// What the loop sleeps and measures `idleCheck` and `shutdownGrace` on; tests pass a manual clock.
    public var clock: any Clock<Duration> = ContinuousClock()
    /// How many due contacts one read of the database fetches.
    static let pageSize = 64
    /// Called after every poll, with the contact and its outcome (metrics).
    public var onPoll: @Sendable (StoredContact, PollOutcome) async -> Void = { _, _ in }
    /// Called on each turn of the loop, at least every `idleCheck` (watchdog, status line, cycle summary).
    public var onTurn: @Sendable (_ inFlight: Int) async throws -> Void = { _ in }
    /// Logs and counts the database's refusals; by default, one that logs to `run`'s logger.
    var health: DatabaseHealth?
    /// Several daemons on one database: contacts are claimed with leases and the loop
    /// heartbeats; `nil` for a database one process uses (SQLite).
    public var leasing: InstanceLease?
    /// The leases this instance holds, which its heartbeat renews: its polls' and those the
    /// start-up API check claimed; made from `leasing` when `nil`.
    var leases: ContactLeases?
    /// Cluster time, measured by the heartbeats: leases, heartbeats and the shared pause are
    /// in the database's clock; made from `wallNowMs` when `nil`.
    var clusterClock: ClusterClock?
    /// Until when the API told this instance to pause (wall ms), for the heartbeat to share.
    public var imposedPauseUntilMs: @Sendable () async -> Int64? = { nil }
    /// Called after each heartbeat with the cluster's share of the API's limit (the pacer's).
    public var onHeartbeat: @Sendable (ClusterShare) async -> Void = { _ in }

    public init(
        database: any ScheduleStore & PollWriteStore,
        maxConcurrentPolls: Int,
        wallNowMs: @escaping @Sendable () -> Int64,
        poll: @escaping Poll
    ) {
        self.database = database
        self.maxConcurrentPolls = max(1, maxConcurrentPolls)
        self.wallNowMs = wallNowMs
        self.poll = poll
    }

    private enum Event: Sendable {
        case fetched(PendingPoll)
        /// `poll` threw: only the database does (see ``Poll``).
        case fetchFailed(StoredContact, any Error)
        case polled(StoredContact, PollOutcome)
        case tick
        case heartbeatsEnded
    }

    /// Runs until graceful shutdown or cancellation; throws `DaemonError.unauthorized` when the
    /// API refuses the key. Database errors never end it.
    public func run(logger: Logger) async throws {
        do {
            try await run(logger: logger, clock: clock)
        } catch {
            await releaseLeases(logger: logger)
            throw error
        }
        await releaseLeases(logger: logger)
    }

    /// Gives this instance's leases up, so that the others poll its contacts at once rather
    /// than after the lease; if that fails they do so after it.
    private func releaseLeases(logger: Logger) async {
        guard let leasing else { return }
        do {
            try await leasing.store.releaseLeases(of: leasing.instance)
        } catch {
            logger.warning(
                "Could not give the contact leases up; other instances take them over when they expire",
                metadata: ["error": "\(error)", "instance.id": "\(leasing.instance.id)"])
        }
    }

    /// Heartbeats (see ``InstanceLease``): renews `leases`, measures the cluster's time, and
    /// returns the cluster's share (`nil` when the heartbeat failed: the last one stays in force).
    /// The times it writes are cluster times; the pause it hears of is handed on in local time.
    func heartbeat(
        _ leasing: InstanceLease, leases: ContactLeases, cluster: ClusterClock, health: DatabaseHealth
    ) async -> ClusterShare? {
        let sentMs = wallNowMs()
        let now = cluster.clusterMs(localMs: sentMs)
        do {
            let pause = await imposedPauseUntilMs().map { cluster.clusterMs(localMs: $0) }
            var share = try await leasing.store.heartbeat(
                leasing.instance, nowMs: now, renewing: leases.ids, leaseUntilMs: now + leasing.durationMs,
                liveSinceMs: now - leasing.durationMs, rateLimitedUntilMs: pause)
            if let databaseNowMs = share.databaseNowMs {
                let wasSynchronized = cluster.isSynchronized
                cluster.measured(databaseNowMs: databaseNowMs, sentMs: sentMs, answeredMs: wallNowMs())
                // The first one wrote and read in the local clock: once more, in the cluster's.
                if !wasSynchronized {
                    return await heartbeat(leasing, leases: leases, cluster: cluster, health: health)
                }
            }
            leases.renewed(share.renewed, untilMs: now + leasing.durationMs)
            share.rateLimitedUntilMs = share.rateLimitedUntilMs.map { cluster.localMs(clusterMs: $0) }
            health.succeeded(isWrite: true)
            await onHeartbeat(share)
            return share
        } catch {
            if !(error is CancellationError) { health.failed(error, operation: "heartbeat", isWrite: true) }
            return nil
        }
    }

    private func run<C: Clock<Duration>>(logger: Logger, clock: C) async throws {
        let health = self.health ?? DatabaseHealth(logger: logger, metrics: nil, wallNowMs: wallNowMs)
        let cluster = clusterClock ?? ClusterClock(wallNowMs: wallNowMs)
        let leases = self.leases ?? ContactLeases(durationMs: leasing?.durationMs ?? 0)
        // This instance's share of `maxConcurrentPolls` among the live instances, as the last
        // heartbeat found it.
        let latestShare = LatestShare()
        try await withThrowingTaskGroup(of: Event.self) { group in
            if let leasing {
                // The first one before any claim: it measures the cluster's time. Then on a task
                // of their own, so that no query of this loop (nor a commit it waits for) delays
                // the renewals; also while stopping: the polls still in flight keep their leases.
                let first = await heartbeat(leasing, leases: leases, cluster: cluster, health: health)
                latestShare.value.withLock { $0 = first }
                group.addTask {
                    while !Task.isCancelled {
                        try? await clock.sleep(for: .milliseconds(leasing.heartbeatEveryMs))
                        if Task.isCancelled { break }
                        if let share = await heartbeat(leasing, leases: leases, cluster: cluster, health: health) {
                            latestShare.value.withLock { $0 = share }
                        }
                    }
                    return .heartbeatsEnded
                }
            }
            var inFlight: Set<Int64> = []  // fetching or committing: not read as due again
            var fetching = 0
            var queue: [StoredContact] = []  // due contacts, the next one last
            var queueReadAt = clock.now
            var tickPending = false
            var shutdownDeadline: C.Instant?
            var backoff = DatabaseBackoff<C.Instant>()
            var concurrency = maxConcurrentPolls
            func refused(_ contact: StoredContact, _ code: DatabaseErrorCode, _ message: String) {
                health.failed(code, message: message, operation: "poll writes", isWrite: true)
                backoff.contactFailed(contact.id, at: clock.now)
                backoff.databaseRefused(code, at: clock.now)
            }
            while true {
                if let share = latestShare.value.withLock({ $0 }) {
                    concurrency = max(1, share.part(of: maxConcurrentPolls))
                }
                if shutdownDeadline == nil, Task.isShuttingDownGracefully || Task.isCancelled {
                    shutdownDeadline = clock.now.advanced(by: shutdownGrace)
                    logger.info("Stopping: no new polls", metadata: ["polls.in_flight": "\(inFlight.count)"])
                }
                if let deadline = shutdownDeadline {
                    if inFlight.isEmpty { break }
                    if clock.now >= deadline {
                        logger.warning(
                            "Abandoning polls still in flight", metadata: ["polls.in_flight": "\(inFlight.count)"])
                        group.cancelAll()
                        break
                    }
                } else if fetching < concurrency, !backoff.isPaused(at: clock.now) {
                    // Due contacts are read a page at a time, not once per poll; the page is read
                    // again at least every `idleCheck`, so changes made meanwhile are seen.
                    if queue.isEmpty || queueReadAt.duration(to: clock.now) >= idleCheck {
                        queueReadAt = clock.now
                        do {
                            let excluding = inFlight.union(backoff.waitingContacts(at: clock.now))
                            let now = wallNowMs()
                            if let leasing {
                                // Only as many as start now: each is polled while its lease lives.
                                // In cluster time, never before a heartbeat measured it: a host
                                // whose clock is ahead would take leases that are not over.
                                guard cluster.isSynchronized || latestShare.value.withLock({ $0 }) != nil else {
                                    throw ClusterClockUnknown()
                                }
                                let clusterNow = cluster.nowMs()
                                let claimed = try await leasing.store.claimDueContacts(
                                    nowMs: clusterNow, limit: concurrency - fetching, excluding: excluding,
                                    for: leasing.instance, leaseUntilMs: clusterNow + leasing.durationMs)
                                leases.hold(claimed, untilMs: clusterNow + leasing.durationMs)
                                queue = claimed.reversed()
                            } else {
                                queue = try await database.dueContacts(
                                    nowMs: now, limit: max(Self.pageSize, maxConcurrentPolls), excluding: excluding
                                ).reversed()
                            }
                            health.succeeded(isWrite: false)
                        } catch is ClusterClockUnknown {
                            queue = []  // the heartbeat, failing, says why
                        } catch  where !(error is CancellationError) {
                            queue = []
                            health.failed(error, operation: "due contacts read", isWrite: false)
                            backoff.databaseRefused(DatabaseErrorCode(error), at: clock.now)
                        }
                    }
                    while fetching < concurrency, let contact = queue.popLast() {
                        inFlight.insert(contact.id)
                        fetching += 1
                        group.addTask {
                            do {
                                return .fetched(try await poll(contact))
                            } catch  where !(error is CancellationError) && !Task.isCancelled {
                                return .fetchFailed(contact, error)
                            }
                        }
                    }
                }
                health.refresh()
                try await onTurn(inFlight.count)
                if !tickPending {
                    var wait = await nextWait(
                        fetching: fetching, concurrency: concurrency, shuttingDown: shutdownDeadline != nil,
                        health: health)
                    if let pausedUntil = backoff.pausedUntil, clock.now < pausedUntil {
                        wait = min(wait, clock.now.duration(to: pausedUntil))
                    }
                    tickPending = true
                    group.addTask {
                        try? await clock.sleep(for: wait)
                        return .tick
                    }
                }
                guard let event = try await group.next() else { break }
                switch event {
                case .tick:
                    tickPending = false
                case .heartbeatsEnded:
                    break
                case .fetched(let pending):
                    fetching -= 1
                    if case .unauthorized(let status) = pending.outcome.result {
                        // Polls in flight are cancelled; what they queued is committed.
                        throw DaemonError.unauthorized(status: status)
                    }
                    group.addTask { .polled(pending.contact, await pending.completed()) }
                    // Stopping: commit what the last requests brought now, not when the delay ends.
                    if fetching == 0, shutdownDeadline != nil { await database.flushWrites() }
                case .fetchFailed(let contact, let error):
                    fetching -= 1
                    inFlight.remove(contact.id)
                    leases.forget(contact.id, token: contact.leaseToken)
                    let code = DatabaseErrorCode(error)
                    refused(contact, code, "\(error)")
                    await onPoll(contact, PollOutcome(result: .databaseFailed(code, message: "\(error)")))
                case .polled(let contact, let outcome):
                    inFlight.remove(contact.id)
                    leases.forget(contact.id, token: contact.leaseToken)
                    if case .databaseFailed(let code, let message) = outcome.result {
                        refused(contact, code, message)
                    } else {
                        backoff.contactSucceeded(contact.id)
                        backoff.databaseWrote()
                        health.succeeded(isWrite: true)
                    }
                    await onPoll(contact, outcome)
                }
            }
            group.cancelAll()
        }
    }

    /// Until the next contact falls due, but never longer than `idleCheck`.
    private func nextWait(fetching: Int, concurrency: Int, shuttingDown: Bool, health: DatabaseHealth) async -> Duration
    {
        if shuttingDown || fetching >= concurrency { return min(idleCheck, .milliseconds(200)) }
        // Contacts due now are all in flight (the loop took every due one it had room for).
        let now = wallNowMs()
        let nextDue: Int64?
        do {
            nextDue = try await database.nextDueMs(after: now)
        } catch {
            if !(error is CancellationError) { health.failed(error, operation: "next due read", isWrite: false) }
            return idleCheck
        }
        guard let nextDue else { return idleCheck }
        let untilDue = Duration.milliseconds(max(10, nextDue - now))
        return min(idleCheck, untilDue)
    }
}

/// The cluster's share as the last heartbeat found it, for the loop that claims.
private final class LatestShare: Sendable {
    let value = Mutex<ClusterShare?>(nil)
}

/// The heartbeat has measured no cluster time yet: claims wait for it.
private struct ClusterClockUnknown: Error {}

/// How a polling loop shares the contacts of a database with others (`PollScheduler.leasing`).
///
/// It claims due contacts only for the polls it starts at once (a claimed contact waiting in
/// a queue would see its lease expire and be polled by two instances), heartbeats every
/// second (at most a third of the lease) on a task of its own, renewing the leases of its
/// polls in flight (and of the start-up API check) and sharing the API's limit, and gives its
/// leases up when it stops. Its times are the database's (`ClusterClock`). An instance that dies
/// renews nothing: after `durationMs` the others take its contacts over. The live instances
/// divide `api.maxConcurrentRequests` (each at least one poll) and, through the pacer,
/// `api.requestsPerSecond`.
extension InstanceLease {
    /// Often enough that a 429 one instance met holds the others within a second.
    var heartbeatEveryMs: Int64 { min(1000, durationMs / 3) }
}
