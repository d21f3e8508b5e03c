import Logging
import SyncStore

/// A poll whose requests are done and whose writes are queued for group commit.
public struct PendingPoll: Sendable {
    public let contact: StoredContact
    /// The result and requests; `counts` holds only what earlier, already committed attempts
    /// stored (see `completed()`).
    public var outcome = PollOutcome(result: .caughtUp)
    let database: (any PollWriteStore)?
    let writes = PollWriteGroup()
    let logger: Logger

    init(_ contact: StoredContact, database: any PollWriteStore, logger: Logger) {
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

    /// The outcome once every write is committed, with what they stored in `counts`. When the
    /// database refused a write, the result is `.databaseFailed` (unless the key was refused):
    /// a failed attempt, with what the writes before it stored in `counts`.
    public func completed() async -> PollOutcome {
        var outcome = outcome
        let (counts, error) = await writes.settled()
        outcome.counts += counts
        for conflict in outcome.counts.conflicts {
            logger.warning(
                "Event id seen again with another payload; the first copy stays, this one is in event_conflicts",
                metadata: [
                    "event.id": "\(conflict.eventID)",
                    "event.stored_for": "\(conflict.storedFor.map { "\($0)" } ?? "unknown")",
                ])
        }
        outcome.counts.conflicts = []
        if outcome.counts.supersededByOperator {
            logger.info(
                "An operator's command changed the contact (or another instance took it over) during the poll; its row keeps what they set"
            )
        }
        if let error {
            if case .unauthorized = outcome.result { return outcome }
            outcome.result = .databaseFailed(DatabaseErrorCode(error), message: "\(error)")
            logger.debug("Poll not stored: the database refused its writes", metadata: ["error": "\(error)"])
            return outcome
        }
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
