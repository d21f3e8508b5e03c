import Logging
import NP6Client
import NP6Model
import SyncStore

/// One pass over every enabled contact, as `np6-sync sync` runs it: at most
/// `maxConcurrentRequests` contacts in flight, paced by the `RequestPacer`, a `sync_runs` row at
/// the end. Contacts are read from the database page by page, never all at once.
public struct SyncPass: Sendable {
    public var poller: ContactPoller
    public var maxConcurrentRequests: Int
    /// `api.maxAttempts`: how often a contact is tried within the pass when a request meets a
    /// transient fault (`PollResult.isTransient`); 1 tries once.
    public var maxAttempts: Int
    /// The wait before the second attempt; it doubles for each further one, up to `maxRetryDelay`,
    /// and a random part of up to half of it is taken off (jitter), so that retries spread out.
    /// A 429's attempt also waits for the pause the API asked for (the `RequestPacer` holds every
    /// request until then).
    public var retryDelay: Duration = .milliseconds(500)
    public var maxRetryDelay: Duration = .seconds(8)
    /// What retries wait on; tests pass a manual clock.
    public var clock: any Clock<Duration> = ContinuousClock()
    static let pageSize = 1000

    public init(poller: ContactPoller, maxConcurrentRequests: Int, maxAttempts: Int) {
        self.poller = poller
        // A pass that gets 404 for every contact has a wrong api.baseURL: it marks none not_found.
        if self.poller.notFoundGate == nil { self.poller.notFoundGate = NotFoundGate() }
        self.maxConcurrentRequests = max(1, maxConcurrentRequests)
        self.maxAttempts = max(1, maxAttempts)
    }

    /// What a pass did, for the CLI's summary and exit code.
    public struct Report: Sendable {
        public var run: SyncRunSummary
        /// Contacts whose poll failed, with the reason (404s are listed in `notFound` instead).
        public var failures: [(contact: ContactReference, error: String)] = []
        public var notFound: [ContactReference] = []
        /// Set when the API refused the key: the pass stopped early.
        public var unauthorizedStatus: Int?
        /// Set when every contact asked got 404 and none a 200 (a wrong `api.baseURL`): the pass
        /// stopped early and marked none of them `not_found`.
        public var misconfiguration: Misconfiguration?
        /// The pass starts no more requests: the key was refused or `api.baseURL` is wrong.
        var isStopped: Bool { unauthorizedStatus != nil || misconfiguration != nil }
    }

    public func run(logger: Logger) async throws -> Report {
        let started = poller.wallNowMs()
        var report = Report(run: SyncRunSummary(kind: "sync", startedMs: started, finishedMs: started))
        let database = poller.database
        await poller.notFoundGate?.rearm()
        // Fetched polls go to one task that waits for their commits, in the order they were
        // fetched (the order they commit in), rather than to a task each.
        let (fetched, settle) = AsyncStream.makeStream(of: PendingPoll.self)
        try await withThrowingTaskGroup(of: Step.self) { group in
            group.addTask { [report] in
                var settled = report
                for await poll in fetched {
                    record(await poll.completed(), of: poll.contact.reference, in: &settled)
                }
                return .settled(settled)
            }
            var pending: ArraySlice<StoredContact> = []
            var retries: [Attempt] = []  // due again, before the next new contact
            var afterID: Int64 = 0
            var lastPage = false
            var fetching = 0
            var waiting = 0  // attempts waiting out their retry delay
            // A contact holds a request slot while it fetches, not while its writes commit or
            // while it waits to be tried again: the next requests overlap both.
            func startNext() async throws {
                guard !report.isStopped else { return }
                let attempt: Attempt
                if !retries.isEmpty {
                    attempt = retries.removeFirst()
                } else {
                    if pending.isEmpty, !lastPage {
                        let page = try await database.contacts(
                            afterID: afterID, limit: Self.pageSize, enabledOnly: true)
                        lastPage = page.count < Self.pageSize
                        afterID = page.last?.id ?? afterID
                        pending = page[...]
                    }
                    guard let contact = pending.popFirst() else { return }
                    attempt = Attempt(contact: contact, number: 1, earlier: nil)
                }
                fetching += 1
                group.addTask { [poller] in
                    var poll = try await poller.fetch(attempt.contact, logger: logger)
                    if let earlier = attempt.earlier {
                        poll.outcome.requests += earlier.requests
                        poll.outcome.counts += earlier.counts
                        poll.outcome.sawUnsortedBody = poll.outcome.sawUnsortedBody || earlier.sawUnsortedBody
                    }
                    return .fetched(poll, attempt: attempt.number)
                }
            }
            for _ in 0..<maxConcurrentRequests { try await startNext() }
            if fetching == 0 { settle.finish() }
            while let step = try await group.next() {
                switch step {
                case .fetched(let poll, let number):
                    fetching -= 1
                    if case .unauthorized(let status) = poll.outcome.result { report.unauthorizedStatus = status }
                    if let misconfiguration = poll.outcome.misconfiguration {
                        report.misconfiguration = misconfiguration
                    }
                    if poll.outcome.result.isTransient, number < maxAttempts, !report.isStopped {
                        waiting += 1
                        let delay = delay(beforeAttempt: number + 1)
                        group.addTask { [clock] in
                            try await clock.sleep(for: delay)
                            return .due(try await nextAttempt(after: poll, number: number + 1))
                        }
                    } else {
                        settle.yield(poll)
                    }
                case .due(let attempt):
                    waiting -= 1
                    if !report.isStopped {
                        retries.append(attempt)
                    } else if let earlier = attempt.earlier {
                        // The pass stops: the attempt is not made, what the earlier ones did counts.
                        settle.yield(PendingPoll(attempt.contact, outcome: earlier, logger: logger))
                    }
                case .settled(let settled):
                    report = settled
                    continue
                }
                while fetching < maxConcurrentRequests, !report.isStopped {
                    let before = fetching
                    try await startNext()
                    if fetching == before { break }
                }
                if fetching == 0, waiting == 0 {
                    // Fewer than NotFoundGate.threshold contacts got 404 and none a 200: they are not_found.
                    let held = await poller.notFoundGate?.finish() ?? []
                    if report.misconfiguration == nil {
                        for write in held { await database.submit(write, for: PollWriteGroup()) }
                    }
                    // The last requests are done: commit now rather than when the delay ends.
                    settle.finish()
                    await database.flushWrites()
                }
            }
        }
        report.run.finishedMs = poller.wallNowMs()
        if let status = report.unauthorizedStatus {
            report.run.error = "HTTP \(status): the API key was refused"
        } else if let misconfiguration = report.misconfiguration {
            report.run.error = misconfiguration.description
        }
        do {
            try await database.recordRun(report.run)
        } catch {
            // The pass is done and what it stored is committed; only its summary row is missing.
            logger.error(
                "The pass's summary could not be recorded in sync_runs",
                metadata: ["error": "\(error)", "db.error.code": "\(DatabaseErrorCode(error).rawValue)"])
        }
        return report
    }

    /// A contact to fetch, and what its earlier attempts in this pass did.
    private struct Attempt: Sendable {
        var contact: StoredContact
        var number: Int
        var earlier: PollOutcome?
    }

    private enum Step: Sendable {
        case fetched(PendingPoll, attempt: Int)
        case due(Attempt)
        case settled(Report)
    }

    /// The next attempt after a failed one: once the failed attempt's writes are committed, from
    /// the watermark they left.
    private func nextAttempt(after poll: PendingPoll, number: Int) async throws -> Attempt {
        await poller.database.flushWrites()
        let done = await poll.completed()
        // Unreadable now: the older watermark only re-reads more, never skips.
        let current = (try? await poller.database.contact(poll.contact.reference)) ?? poll.contact
        return Attempt(contact: current, number: number, earlier: done)
    }

    /// Exponential backoff with jitter: `retryDelay`, doubled for each attempt after the second,
    /// capped at `maxRetryDelay`, less a random part of up to half.
    func delay(beforeAttempt attempt: Int) -> Duration {
        let doublings = min(max(0, attempt - 2), 30)
        let full = min(maxRetryDelay, retryDelay * (1 << doublings))
        return full * (1 - poller.random() / 2)
    }

    private func record(_ outcome: PollOutcome, of contact: ContactReference, in report: inout Report) {
        report.run.contactsPolled += 1
        report.run.requests += outcome.requests
        report.run.eventsNew += outcome.counts.new
        report.run.eventsDuplicate += outcome.counts.duplicate
        report.run.eventsConflicting += outcome.counts.conflicting
        report.run.eventsQuarantined += outcome.counts.quarantined
        if let misconfiguration = outcome.misconfiguration { report.misconfiguration = misconfiguration }
        switch outcome.result {
        case .caughtUp:
            break
        case .notFound:
            report.notFound.append(contact)
        case .unauthorized(let status):
            report.unauthorizedStatus = status
        case .rateLimited:
            report.run.contactsFailed += 1
            report.failures.append((contact, "HTTP 429: still rate limited after \(maxAttempts) attempts"))
        case .failed(let error):
            report.run.contactsFailed += 1
            report.failures.append((contact, error.description))
        case .databaseFailed(_, let message):
            report.run.contactsFailed += 1
            report.failures.append((contact, "not stored: \(message)"))
        }
    }
}
