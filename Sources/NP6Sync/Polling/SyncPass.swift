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
    }

    public func run(logger: Logger) async throws -> Report {
        let started = poller.wallNowMs()
        var report = Report(run: SyncRunSummary(kind: "sync", startedMs: started, finishedMs: started))
        let database = poller.database
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
            var afterID: Int64 = 0
            var lastPage = false
            var fetching = 0
            // A contact holds a request slot while it fetches, not while its writes commit: the
            // next requests overlap the commit, and many polls share a transaction.
            func startNext() async throws {
                guard report.unauthorizedStatus == nil else { return }
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
                    settle.yield(poll)
                    try await startNext()
                    if fetching == 0 {
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
            let done = await poll.completed()
            // Unreadable now: the older watermark only re-reads more, never skips.
            let current = (try? await poller.database.contact(contact.reference)) ?? contact
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
        case .databaseFailed(_, let message):
            report.run.contactsFailed += 1
            report.failures.append((contact, "not stored: \(message)"))
        }
    }
}
