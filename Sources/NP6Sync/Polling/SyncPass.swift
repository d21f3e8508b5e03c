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
    /// How often a rate-limited contact is tried again within the pass, after the API's pause.
    public var rateLimitRetries = 5
    static let pageSize = 1000

    public init(poller: ContactPoller, maxConcurrentRequests: Int) {
        self.poller = poller
        // A pass that gets 404 for every contact has a wrong api.baseURL: it marks none not_found.
        if self.poller.notFoundGate == nil { self.poller.notFoundGate = NotFoundGate() }
        self.maxConcurrentRequests = max(1, maxConcurrentRequests)
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
                    record(try await poll.completed(), of: poll.contact.reference, in: &settled)
                }
                return .settled(settled)
            }
            var pending: ArraySlice<StoredContact> = []
            var afterID: Int64 = 0
            var lastPage = false
            var fetching = 0
            // A contact holds a request slot while it fetches, not while its writes commit: the
            // next requests overlap the commit, and many polls share a transaction.
            func startNext() async throws {
                guard report.unauthorizedStatus == nil, report.misconfiguration == nil else { return }
                if pending.isEmpty, !lastPage {
                    let page = try await database.contacts(afterID: afterID, limit: Self.pageSize, enabledOnly: true)
                    lastPage = page.count < Self.pageSize
                    afterID = page.last?.id ?? afterID
                    pending = page[...]
                }
                guard let contact = pending.popFirst() else { return }
                fetching += 1
                group.addTask { .fetched(try await fetchRetryingRateLimits(contact, logger: logger)) }
            }
            for _ in 0..<maxConcurrentRequests { try await startNext() }
            if fetching == 0 { settle.finish() }
            while let step = try await group.next() {
                switch step {
                case .fetched(let poll):
                    fetching -= 1
                    if case .unauthorized(let status) = poll.outcome.result { report.unauthorizedStatus = status }
                    if let misconfiguration = poll.outcome.misconfiguration {
                        report.misconfiguration = misconfiguration
                    }
                    settle.yield(poll)
                    try await startNext()
                    if fetching == 0 {
                        // Fewer than NotFoundGate.threshold contacts got 404 and none a 200: they are not_found.
                        let held = await poller.notFoundGate?.finish() ?? []
                        if report.misconfiguration == nil {
                            for write in held { await database.submit(write, for: PollWriteGroup()) }
                        }
                        // The last requests are done: commit now rather than when the delay ends.
                        settle.finish()
                        await database.flushWrites()
                    }
                case .settled(let settled):
                    report = settled
                }
            }
        }
        report.run.finishedMs = poller.wallNowMs()
        if let status = report.unauthorizedStatus {
            report.run.error = "HTTP \(status): the API key was refused"
        } else if let misconfiguration = report.misconfiguration {
            report.run.error = misconfiguration.description
        }
        try await database.recordRun(report.run)
        return report
    }

    private enum Step: Sendable {
        case fetched(PendingPoll)
        case settled(Report)
    }

    private func fetchRetryingRateLimits(_ contact: StoredContact, logger: Logger) async throws -> PendingPoll {
        var poll = try await poller.fetch(contact, logger: logger)
        var attempts = 0
        while case .rateLimited = poll.outcome.result, attempts < rateLimitRetries {
            // The pacer holds every request until the API's pause is over; go again from the
            // watermark that the stored batches left, once they are committed.
            attempts += 1
            await poller.database.flushWrites()
            let done = try await poll.completed()
            let current = try await poller.database.contact(contact.reference) ?? contact
            poll = try await poller.fetch(current, logger: logger)
            poll.outcome.requests += done.requests
            poll.outcome.counts += done.counts
            poll.outcome.sawUnsortedBody = poll.outcome.sawUnsortedBody || done.sawUnsortedBody
        }
        return poll
    }

    private func record(_ outcome: PollOutcome, of contact: ContactReference, in report: inout Report) {
        report.run.contactsPolled += 1
        report.run.requests += outcome.requests
        report.run.eventsNew += outcome.counts.new
        report.run.eventsDuplicate += outcome.counts.duplicate
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
            report.failures.append((contact, "HTTP 429: still rate limited after \(rateLimitRetries) retries"))
        case .failed(let error):
            report.run.contactsFailed += 1
            report.failures.append((contact, error.description))
        }
    }
}
