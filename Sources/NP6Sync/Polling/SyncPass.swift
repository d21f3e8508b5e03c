import Logging
import NP6Client
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
        var afterID: Int64 = 0
        pages: while report.unauthorizedStatus == nil {
            let page = try await poller.database.contacts(afterID: afterID, limit: Self.pageSize, enabledOnly: true)
            guard let last = page.last else { break }
            afterID = last.id
            try await withThrowingTaskGroup(of: (StoredContact, PollOutcome).self) { group in
                var pending = page[...]
                func startNext() {
                    guard report.unauthorizedStatus == nil, let contact = pending.popFirst() else { return }
                    group.addTask { (contact, try await pollRetryingRateLimits(contact, logger: logger)) }
                }
                for _ in 0..<maxConcurrentRequests { startNext() }
                while let (contact, outcome) = try await group.next() {
                    record(outcome, of: contact.reference, in: &report)
                    startNext()
                }
            }
            if page.count < Self.pageSize { break pages }
        }
        report.run.finishedMs = poller.wallNowMs()
        if let status = report.unauthorizedStatus {
            report.run.error = "HTTP \(status): the API key was refused"
        }
        try await poller.database.recordRun(report.run)
        return report
    }

    private func pollRetryingRateLimits(_ contact: StoredContact, logger: Logger) async throws -> PollOutcome {
        var outcome = try await poller.poll(contact, logger: logger)
        var attempts = 0
        while case .rateLimited = outcome.result, attempts < rateLimitRetries {
            // The pacer holds every request until the API's pause is over; go again from the
            // watermark that the stored batches left.
            attempts += 1
            let current = try await poller.database.contact(contact.reference) ?? contact
            let retry = try await poller.poll(current, logger: logger)
            outcome.result = retry.result
            outcome.requests += retry.requests
            outcome.counts += retry.counts
            outcome.sawUnsortedBody = outcome.sawUnsortedBody || retry.sawUnsortedBody
        }
        return outcome
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
        }
    }
}
