import Logging
import SyncStore

extension SyncRunSummary {
    /// The totals as log metadata, for the summary line of a `sync` run or a daemon cycle.
    public var logMetadata: Logger.Metadata {
        [
            "contacts.polled": "\(contactsPolled)", "contacts.failed": "\(contactsFailed)", "requests": "\(requests)",
            "events.new": "\(eventsNew)", "events.duplicate": "\(eventsDuplicate)",
            "events.conflicting": "\(eventsConflicting)",
            "events.quarantined": "\(eventsQuarantined)", "duration_ms": "\(finishedMs - startedMs)",
        ]
    }
}
