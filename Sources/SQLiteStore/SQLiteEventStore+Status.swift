import GRDB
import NP6Model
import SyncStore

extension SQLiteEventStore {
    /// Records the totals of a `sync` invocation or daemon cycle.
    public func recordRun(_ run: SyncRunSummary) async throws {
        try await writing { db in
            try db.execute(
                sql: """
                    INSERT INTO sync_runs (kind, started_ms, finished_ms, contacts_polled, contacts_failed,
                        requests, events_new, events_duplicate, events_conflicting, events_quarantined, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    run.kind, run.startedMs, run.finishedMs, run.contactsPolled, run.contactsFailed,
                    run.requests, run.eventsNew, run.eventsDuplicate, run.eventsConflicting, run.eventsQuarantined,
                    run.error,
                ])
        }
    }

    /// Counts for `status`; reads only, so it works while another process writes.
    public func status(now: Int64) async throws -> StoreStatus {
        try await reading { db in
            var status = StoreStatus()
            status.contacts = try Int.fetchOne(db, sql: "SELECT count(*) FROM contacts") ?? 0
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT COALESCE(last_status, 'never'), count(*) FROM contacts WHERE enabled = 1 GROUP BY 1
                    """)
            {
                status.contactsByStatus[row[0]] = row[1]
                status.enabledContacts += row[1] as Int
            }
            let watermarks = try Row.fetchOne(
                db,
                sql: """
                    SELECT min(watermark_ms), sum(watermark_ms IS NULL) FROM contacts WHERE enabled = 1
                    """)
            status.oldestWatermarkMs = watermarks?[0]
            status.neverSynced = watermarks?[1] ?? 0
            let synced = status.enabledContacts - status.neverSynced
            if synced > 0 {
                // Ascending watermarks: the 95th percentile of lag is the 5th percentile of watermarks.
                let watermark = { (offset: Int) in
                    try Int64.fetchOne(
                        db,
                        sql: """
                            SELECT watermark_ms FROM contacts WHERE enabled = 1 AND watermark_ms IS NOT NULL
                            ORDER BY watermark_ms LIMIT 1 OFFSET ?
                            """,
                        arguments: [offset])
                }
                status.medianWatermarkMs = try watermark(synced / 2)
                status.p95LagWatermarkMs = try watermark(synced / 20)
            }
            status.failing = try ContactRecord.fetchAll(
                db,
                sql: """
                    SELECT \(ContactRecord.columns) FROM contacts
                    WHERE enabled = 1 AND last_status IS NOT NULL AND last_status <> 'ok'
                    ORDER BY consecutive_failures DESC, id LIMIT 20
                    """
            ).compactMap(\.contact)
            status.events = try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
            status.eventsLastDay =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM events WHERE timestamp_ms >= ?", arguments: [now - 86_400_000]) ?? 0
            status.lastEventReceivedMs = try Int64.fetchOne(db, sql: "SELECT max(received_ms) FROM events")
            status.quarantined = try Int.fetchOne(db, sql: "SELECT count(*) FROM quarantine") ?? 0
            status.lastRun = try SyncRunSummary.fetchOne(
                db, sql: "SELECT \(SyncRunSummary.columns) FROM sync_runs ORDER BY id DESC LIMIT 1")
            return status
        }
    }
}
