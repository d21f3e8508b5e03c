import Logging
import NIOCore
import NP6Model
import PostgresNIO
import SyncStore

extension PostgresEventStore {
    /// Queues one of a poll's writes for group commit (see `PollWriteQueue`); waits only while
    /// the queue is full. `group.committed()` tells when it is stored.
    public func submit(_ write: PollWrite, for group: PollWriteGroup) async {
        await writeQueue.submit(write, for: group)
    }

    /// Commits the queued writes now, and returns once every write submitted before the call is
    /// committed.
    public func flushWrites() async {
        await writeQueue.flush()
    }

    /// Calls `body` for each stored event matching the filter, in `seq` order, as the rows
    /// stream in: the CLI prints millions this way.
    public func forEachEvent(
        contact: ContactReference?,
        sinceMs: Int64?,
        limit: Int?,
        _ body: @escaping @Sendable (StoredEvent) throws -> Void
    ) async throws {
        // NULL parameters switch a condition off, so one statement serves every filter.
        let query: PostgresQuery = """
            WHERE (\(contact?.kind.rawValue)::text IS NULL OR (c.kind = \(contact?.kind.rawValue)
                AND c.value = \(contact?.value)))
              AND (\(sinceMs)::bigint IS NULL OR e.timestamp_ms >= \(sinceMs))
            ORDER BY e.seq LIMIT \(limit.map(Int64.init))
            """
        try await reading { connection in
            let rows = try await connection.query(PostgresQuery(EventRow.selection, then: query), logger: logger)
            for try await row in rows { try body(try EventRow.decode(row)) }
        }
    }

    // MARK: Scheduling

    /// The enabled contacts due at `nowMs`, oldest due first, skipping `excluding` (polls in
    /// flight). Served by the `contacts_due` index.
    public func dueContacts(nowMs: Int64, limit: Int, excluding: Set<Int64>) async throws -> [StoredContact] {
        try await reading { connection in
            try await ContactRow.fetch(
                connection,
                """
                WHERE enabled = 1 AND next_due_ms <= \(nowMs) AND NOT (id = ANY(\(Array(excluding))::bigint[]))
                ORDER BY next_due_ms, id LIMIT \(limit)
                """, logger: logger)
        }
    }

    /// When the next enabled contact falls due after `nowMs`, `nil` when none will.
    public func nextDueMs(after nowMs: Int64) async throws -> Int64? {
        try await reading { connection in
            try await connection.query(
                "SELECT min(next_due_ms) FROM contacts WHERE enabled = 1 AND next_due_ms > \(nowMs)", logger: logger
            ).collect().first?.decode(Int64?.self)
        }
    }

    /// Counts for the daemon's status line and its capacity check.
    public func scheduleSnapshot(nowMs: Int64, dayStartMs: Int64) async throws -> ScheduleSnapshot {
        try await reading { connection in
            var snapshot = ScheduleSnapshot()
            let rows = try await connection.query(
                """
                SELECT count(*), count(*) FILTER (WHERE next_due_ms <= \(nowMs)),
                       count(*) FILTER (WHERE last_status IS NOT NULL AND last_status <> 'ok'), min(watermark_ms),
                       (SELECT count(*) FROM events WHERE timestamp_ms >= \(dayStartMs))
                FROM contacts WHERE enabled = 1
                """, logger: logger)
            for try await (enabled, due, failing, oldest, today) in rows.decode((Int, Int, Int, Int64?, Int).self) {
                snapshot.enabledContacts = enabled
                snapshot.dueContacts = due
                snapshot.failingContacts = failing
                snapshot.oldestWatermarkMs = oldest
                snapshot.eventsToday = today
            }
            return snapshot
        }
    }

    /// Records the totals of a `sync` invocation or daemon cycle.
    public func recordRun(_ run: SyncRunSummary) async throws {
        try await writing { connection in
            try await connection.run(
                """
                INSERT INTO sync_runs (kind, started_ms, finished_ms, contacts_polled, contacts_failed, requests,
                    events_new, events_duplicate, events_conflicting, events_quarantined, error)
                VALUES (\(run.kind), \(run.startedMs), \(run.finishedMs), \(run.contactsPolled), \(run.contactsFailed),
                    \(run.requests), \(run.eventsNew), \(run.eventsDuplicate), \(run.eventsConflicting),
                    \(run.eventsQuarantined), \(run.error))
                """, logger: logger)
        }
    }

    /// Counts for `status`; reads only, in one repeatable-read transaction so that they agree.
    public func status(now: Int64) async throws -> StoreStatus {
        try await writing { connection in
            try await connection.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            return try await Self.status(now: now, connection, logger: logger)
        }
    }

    private static func status(
        now: Int64, _ connection: PostgresConnection, logger: Logger
    ) async throws
        -> StoreStatus
    {
        var status = StoreStatus()
        func one<T: PostgresDecodable>(_ query: PostgresQuery, _ type: T.Type) async throws -> T? {
            try await connection.query(query, logger: logger).collect().first?.decode(T.self)
        }
        status.contacts = try await one("SELECT count(*) FROM contacts", Int.self) ?? 0
        let byStatus = try await connection.query(
            "SELECT COALESCE(last_status, 'never'), count(*) FROM contacts WHERE enabled = 1 GROUP BY 1",
            logger: logger)
        for try await (name, count) in byStatus.decode((String, Int).self) {
            status.contactsByStatus[name] = count
            status.enabledContacts += count
        }
        let watermarks = try await connection.query(
            "SELECT min(watermark_ms), count(*) FILTER (WHERE watermark_ms IS NULL) FROM contacts WHERE enabled = 1",
            logger: logger)
        for try await (oldest, never) in watermarks.decode((Int64?, Int).self) {
            status.oldestWatermarkMs = oldest
            status.neverSynced = never
        }
        let synced = status.enabledContacts - status.neverSynced
        if synced > 0 {
            // Ascending watermarks: the 95th percentile of lag is the 5th percentile of watermarks.
            func watermark(_ offset: Int) async throws -> Int64? {
                try await one(
                    """
                    SELECT watermark_ms FROM contacts WHERE enabled = 1 AND watermark_ms IS NOT NULL
                    ORDER BY watermark_ms LIMIT 1 OFFSET \(offset)
                    """, Int64.self)
            }
            status.medianWatermarkMs = try await watermark(synced / 2)
            status.p95LagWatermarkMs = try await watermark(synced / 20)
        }
        status.failing = try await ContactRow.fetch(
            connection,
            """
            WHERE enabled = 1 AND last_status IS NOT NULL AND last_status <> 'ok'
            ORDER BY consecutive_failures DESC, id LIMIT 20
            """, logger: logger)
        status.events = try await one("SELECT count(*) FROM events", Int.self) ?? 0
        status.eventsLastDay =
            try await one("SELECT count(*) FROM events WHERE timestamp_ms >= \(now - 86_400_000)", Int.self) ?? 0
        status.lastEventReceivedMs = try await one("SELECT max(received_ms) FROM events", Int64?.self) ?? nil
        status.quarantined = try await one("SELECT count(*) FROM quarantine", Int.self) ?? 0
        let runs = try await connection.query(
            """
            SELECT kind, started_ms, finished_ms, contacts_polled, contacts_failed, requests, events_new,
                events_duplicate, events_conflicting, events_quarantined, error
            FROM sync_runs ORDER BY id DESC LIMIT 1
            """, logger: logger)
        for try await row in runs {
            let (kind, started, finished, polled, failed, requests, new, duplicate, conflicting, quarantined, error) =
                try row.decode((String, Int64, Int64, Int, Int, Int, Int, Int, Int, Int, String?).self)
            var run = SyncRunSummary(kind: kind, startedMs: started, finishedMs: finished)
            (run.contactsPolled, run.contactsFailed, run.requests) = (polled, failed, requests)
            (run.eventsNew, run.eventsDuplicate, run.eventsConflicting) = (new, duplicate, conflicting)
            (run.eventsQuarantined, run.error) = (quarantined, error)
            status.lastRun = run
        }
        status.instances = try await instances(now: now, connection, logger: logger)
        return status
    }
}
