import Logging
import ServiceLifecycle
import SyncStore

/// The daemon's polling loop: driven by the database (`contacts.next_due_ms`, oldest due first),
/// at most `maxConcurrentPolls` making requests (a poll whose writes are committing does not
/// count, see `ContactPoller`), re-reading the due contacts at least every second, so a
/// contact added by the CLI or by plain SQL is polled without a restart and a million contacts
/// never sit in memory.
///
/// On graceful shutdown it starts no new poll, lets the polls in flight finish for up to
/// `shutdownGrace`, then cancels them: each batch they committed is consistent on its own.
public struct PollScheduler: Sendable {
    /// Makes a contact's requests and queues its writes (`ContactPoller.fetch`).
    public typealias Poll = @Sendable (StoredContact) async throws -> PendingPoll

    public var database: any EventStore
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

    public init(
        database: any EventStore,
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
        case polled(StoredContact, PollOutcome)
        case tick
    }

    /// Runs until graceful shutdown or cancellation; throws `DaemonError.unauthorized` when the
    /// API refuses the key, and database errors.
    public func run(logger: Logger) async throws {
        try await run(logger: logger, clock: clock)
    }

    private func run<C: Clock<Duration>>(logger: Logger, clock: C) async throws {
        try await withThrowingTaskGroup(of: Event.self) { group in
            var inFlight: Set<Int64> = []  // fetching or committing: not read as due again
            var fetching = 0
            var queue: [StoredContact] = []  // due contacts, the next one last
            var queueReadAt = clock.now
            var tickPending = false
            var shutdownDeadline: C.Instant?
            while true {
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
                } else if fetching < maxConcurrentPolls {
                    // Due contacts are read a page at a time, not once per poll; the page is read
                    // again at least every `idleCheck`, so changes made meanwhile are seen.
                    if queue.isEmpty || queueReadAt.duration(to: clock.now) >= idleCheck {
                        queue = try await database.dueContacts(
                            nowMs: wallNowMs(), limit: max(Self.pageSize, maxConcurrentPolls), excluding: inFlight
                        ).reversed()
                        queueReadAt = clock.now
                    }
                    while fetching < maxConcurrentPolls, let contact = queue.popLast() {
                        inFlight.insert(contact.id)
                        fetching += 1
                        group.addTask { .fetched(try await poll(contact)) }
                    }
                }
                try await onTurn(inFlight.count)
                if !tickPending {
                    let wait = try await nextWait(fetching: fetching, shuttingDown: shutdownDeadline != nil)
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
                case .fetched(let pending):
                    fetching -= 1
                    if case .unauthorized(let status) = pending.outcome.result {
                        // Polls in flight are cancelled; what they queued is committed.
                        throw DaemonError.unauthorized(status: status)
                    }
                    group.addTask { .polled(pending.contact, try await pending.completed()) }
                    // Stopping: commit what the last requests brought now, not when the delay ends.
                    if fetching == 0, shutdownDeadline != nil { await database.flushWrites() }
                case .polled(let contact, let outcome):
                    inFlight.remove(contact.id)
                    await onPoll(contact, outcome)
                }
            }
            group.cancelAll()
        }
    }

    /// Until the next contact falls due, but never longer than `idleCheck`.
    private func nextWait(fetching: Int, shuttingDown: Bool) async throws -> Duration {
        if shuttingDown || fetching >= maxConcurrentPolls { return min(idleCheck, .milliseconds(200)) }
        // Contacts due now are all in flight (the loop took every due one it had room for).
        let now = wallNowMs()
        guard let nextDue = try await database.nextDueMs(after: now) else { return idleCheck }
        let untilDue = Duration.milliseconds(max(10, nextDue - now))
        return min(idleCheck, untilDue)
    }
}
