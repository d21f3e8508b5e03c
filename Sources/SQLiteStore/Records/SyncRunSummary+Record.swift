import GRDB
import SyncStore

/// A `sync_runs` row read by column name: `started_ms` is `startedMs`, and so on.
extension SyncRunSummary: FetchableRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }

    /// The columns to select: every one the summary decodes.
    static let columns = """
        kind, started_ms, finished_ms, contacts_polled, contacts_failed, requests, events_new, events_duplicate,
        events_conflicting, events_quarantined, error
        """
}
