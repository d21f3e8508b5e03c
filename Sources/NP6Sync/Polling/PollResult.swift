import Logging
import NP6Client
import SyncStore

/// How one poll of one contact ended.
public enum PollResult: Sendable, Hashable {
    /// Every window up to now was stored and the watermark moved to its end.
    case caughtUp
    /// 404: the API does not know the contact.
    case notFound
    /// 429 with the pause the API asked for, if any; the watermark kept what was stored.
    case rateLimited(RateLimitInfo?)
    /// 401/403: the key was refused; nothing more should be polled.
    case unauthorized(status: Int)
    /// A transient fault: 5xx, transport, malformed body, unexpected status.
    case failed(NP6ClientError)

    /// The `contacts.last_status` this result writes.
    var contactStatus: ContactStatus {
        switch self {
        case .caughtUp: .ok
        case .notFound: .notFound
        case .rateLimited: .rateLimited
        case .unauthorized: .unauthorized
        case .failed: .failed
        }
    }

    init(_ error: NP6ClientError) {
        switch error {
        case .contactNotFound: self = .notFound
        case .rateLimited(let info): self = .rateLimited(info)
        case .unauthorized(let status): self = .unauthorized(status: status)
        default: self = .failed(error)
        }
    }
}

/// What one poll did: its result and what it stored.
public struct PollOutcome: Sendable {
    public var result: PollResult
    public var counts = InsertCounts()
    public var requests = 0
    /// The body of some window was not sorted by timestamp (it was never checkpointed inside).
    public var sawUnsortedBody = false
}

/// A poll whose requests are done and whose writes are queued for group commit.
public struct PendingPoll: Sendable {
    public let contact: StoredContact
    /// The result and requests; `counts` holds only what earlier, already committed attempts
    /// stored (see `completed()`).
    public var outcome = PollOutcome(result: .caughtUp)
    let database: SyncDatabase?
    let writes = PollWrites()
    let logger: Logger

    init(_ contact: StoredContact, database: SyncDatabase, logger: Logger) {
        self.contact = contact
        self.database = database
        self.logger = logger
    }

    /// A poll that wrote nothing through the queue (for schedulers' tests).
    public init(_ contact: StoredContact, outcome: PollOutcome, logger: Logger) {
        self.contact = contact
        self.outcome = outcome
        self.database = nil
        self.logger = logger
    }

    func submit(_ write: PollWrite) async {
        await database?.submit(write, for: writes)
    }

    /// The outcome once every write is committed, with what they stored in `counts`. Throws
    /// the database's error if a write failed.
    public func completed() async throws -> PollOutcome {
        var outcome = outcome
        outcome.counts += try await writes.committed()
        if outcome.result == .caughtUp {
            logger.debug(
                "Polled contact",
                metadata: [
                    "events.new": "\(outcome.counts.new)", "events.duplicate": "\(outcome.counts.duplicate)",
                    "requests": "\(outcome.requests)",
                ])
        }
        return outcome
    }
}
