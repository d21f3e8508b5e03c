import GRDB
import SyncStore

/// A `sync_runs` row, decoded by column name.
struct SyncRunRecord: FetchableRecord, Decodable {
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let columns = """
        kind, started_ms, finished_ms, contacts_polled, contacts_failed, requests, events_new, events_duplicate,
        events_quarantined, error
        """

    var kind: String
    var startedMs: Int64
    var finishedMs: Int64
    var contactsPolled: Int
    var contactsFailed: Int
    var requests: Int
    var eventsNew: Int
    var eventsDuplicate: Int
    var eventsQuarantined: Int
    var error: String?

    var summary: SyncRunSummary {
        var run = SyncRunSummary(kind: kind, startedMs: startedMs, finishedMs: finishedMs)
        run.contactsPolled = contactsPolled
        run.contactsFailed = contactsFailed
        run.requests = requests
        run.eventsNew = eventsNew
        run.eventsDuplicate = eventsDuplicate
        run.eventsQuarantined = eventsQuarantined
        run.error = error
        return run
    }
}
