import GRDB
import SyncStore

/// Sink delivery: cursors, delivery state, dead letters, replays.
///
/// The invariant: a sink's `delivered_seq` only passes events its receiver acknowledged or that
/// were recorded as dead letters in the same transaction. It moves back only through an explicit
/// replay (`rewindSinkCursor`).
extension SQLiteEventStore {
    /// Creates the cursor of a sink seen for the first time, once: at 0, so the sink receives
    /// every stored event, or, with `startingAfterLatest`, at the latest stored event. A sink
    /// that already has a cursor keeps it, whatever its configuration says now.
    ///
    /// - Returns: the sink's cursor, created or found.
    @discardableResult
    public func createSinkCursor(_ sink: String, startingAfterLatest: Bool, now: Int64) async throws -> SinkCursor {
        try await writing { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO sink_cursors (sink, delivered_seq, updated_ms)
                    VALUES (?1, CASE WHEN ?2 THEN (SELECT COALESCE(MAX(seq), 0) FROM events) ELSE 0 END, ?3)
                    ON CONFLICT (sink) DO NOTHING
                    """
            ).execute(arguments: [sink, startingAfterLatest, now])
            guard let cursor = try Self.sinkCursor(sink, db) else { throw SyncStoreError.sinkCursorMissing(sink) }
            return cursor
        }
    }

    /// The sink's cursor; `nil` for a sink that has never run.
    public func sinkCursor(_ sink: String) async throws -> SinkCursor? {
        try await reading { db in try Self.sinkCursor(sink, db) }
    }

    /// The next batch a sink has to deliver: its cursor and up to `limit` events after it, in
    /// `seq` order, read together. `nil` when the sink has no cursor.
    public func pendingBatch(for sink: String, limit: Int) async throws -> (cursor: SinkCursor, events: [StoredEvent])?
    {
        try await reading { db in
            guard let cursor = try Self.sinkCursor(sink, db) else { return nil }
            let events = try EventRecord.fetchAll(
                db.cachedStatement(sql: EventRecord.selection + " WHERE e.seq > ? ORDER BY e.seq LIMIT ?"),
                arguments: [cursor.deliveredSeq, limit]
            ).map(\.event)
            return (cursor, events)
        }
    }

    /// Records that the sink acknowledged every event up to `seq`, and marks it running.
    ///
    /// - Parameters:
    ///   - expectedSeq: the cursor the delivered batch was read after. When the cursor is no
    ///     longer there (a replay moved it meanwhile), nothing is written, so the replay wins.
    ///   - leaseToken: unused: one process delivers, so there is no lease to fence by.
    /// - Returns: whether the cursor moved.
    @discardableResult
    public func advanceSinkCursor(
        _ sink: String, from expectedSeq: Int64, to seq: Int64, now: Int64, fencedBy leaseToken: Int64?
    ) async throws -> Bool {
        precondition(seq > expectedSeq, "a cursor only moves forward here; replays use rewindSinkCursor")
        return try await writing { db in
            try db.cachedStatement(
                sql: """
                    UPDATE sink_cursors SET delivered_seq = ?, state = 'running', last_error = NULL,
                        consecutive_failures = 0, last_attempt_ms = ?, last_success_ms = ?, updated_ms = ?
                    WHERE sink = ? AND delivered_seq = ?
                    """
            ).execute(arguments: [seq, now, now, now, sink, expectedSeq])
            return db.changesCount > 0
        }
    }

    /// Records a failed delivery: `failing` (retried with backoff) or `stopped` (rejected for good).
    public func recordSinkFailure(
        _ sink: String, state: SinkState, error: String, now: Int64, fencedBy leaseToken: Int64?
    ) async throws {
        try await writing { db in
            try db.cachedStatement(
                sql: """
                    UPDATE sink_cursors SET state = ?, last_error = ?, consecutive_failures = consecutive_failures + 1,
                        last_attempt_ms = ?, updated_ms = ?
                    WHERE sink = ?
                    """
            ).execute(arguments: [state.rawValue, error, now, now, sink])
        }
    }

    /// Marks a sink running again, when its loop starts or resumes; its last error stays
    /// visible until a delivery succeeds.
    public func recordSinkRunning(_ sink: String, now: Int64, fencedBy leaseToken: Int64?) async throws {
        try await writing { db in
            try db.cachedStatement(sql: "UPDATE sink_cursors SET state = 'running', updated_ms = ? WHERE sink = ?")
                .execute(arguments: [now, sink])
        }
    }

    /// Sets an event aside as rejected by the sink's receiver, with its answer, and moves the
    /// cursor past it: one transaction, so the event is either recorded or still pending.
    ///
    /// - Parameter expectedSeq: as in ``advanceSinkCursor(_:from:to:now:)``; the event must be
    ///   the one right after it in the sink's stream.
    /// - Returns: whether the cursor moved (and the dead letter was recorded).
    @discardableResult
    public func recordDeadLetter(
        _ sink: String,
        event: StoredEvent,
        answer: String,
        advancingCursorFrom expectedSeq: Int64,
        now: Int64,
        fencedBy leaseToken: Int64?
    ) async throws -> Bool {
        precondition(event.seq > expectedSeq)
        return try await writing { db in
            try db.cachedStatement(
                sql: """
                    UPDATE sink_cursors SET delivered_seq = ?, last_attempt_ms = ?, updated_ms = ?
                    WHERE sink = ? AND delivered_seq = ?
                    """
            ).execute(arguments: [event.seq, now, now, sink, expectedSeq])
            guard db.changesCount > 0 else { return false }
            try Self.upsertDeadLetter(sink, seq: event.seq, id: event.id, answer: answer, now: now, db)
            return true
        }
    }

    /// The events a sink set aside and has not re-sent successfully, in `seq` order.
    public func pendingDeadLetters(for sink: String) async throws -> [DeadLetter] {
        try await reading { db in
            let letters = try DeadLetterRecord.fetchAll(
                db,
                sql: """
                    SELECT \(DeadLetterRecord.columns) FROM dead_letters
                    WHERE sink = ? AND resent_ms IS NULL ORDER BY event_seq
                    """,
                arguments: [sink])
            let events = try Dictionary(
                EventRecord.fetchAll(
                    db,
                    sql: EventRecord.selection + """
                         WHERE e.seq IN (SELECT event_seq FROM dead_letters WHERE sink = ? AND resent_ms IS NULL)
                        """,
                    arguments: [sink]
                ).map { record in (record.seq, record.event) },
                uniquingKeysWith: { first, _ in first })
            return letters.map { letter in
                DeadLetter(
                    sink: letter.sink, eventSeq: letter.eventSeq, eventID: letter.eventId, answer: letter.answer,
                    recordedMs: letter.recordedMs, resentMs: letter.resentMs, event: events[letter.eventSeq])
            }
        }
    }

    /// Records the outcome of re-sending a dead letter: acknowledged (`answer` nil) or rejected again.
    public func recordDeadLetterResend(
        _ sink: String, seq: Int64, rejectedWith answer: String?, now: Int64
    ) async throws {
        try await writing { db in
            if let answer {
                try db.cachedStatement(
                    sql: """
                        UPDATE dead_letters SET answer = ?, recorded_ms = ? WHERE sink = ? AND event_seq = ?
                        """
                ).execute(arguments: [answer, now, sink, seq])
            } else {
                try db.cachedStatement(sql: "UPDATE dead_letters SET resent_ms = ? WHERE sink = ? AND event_seq = ?")
                    .execute(arguments: [now, sink, seq])
            }
        }
    }

    /// Moves a sink's cursor back so that it delivers again every event from `seq` on, marks it
    /// running (a stopped sink resumes) and starts a new delivery generation, so that the
    /// receiver sees new idempotency keys. A cursor already before that point is left there:
    /// a replay never skips an undelivered event. A sink that never ran gets its cursor now.
    public func rewindSinkCursor(_ sink: String, toRedeliverFromSeq seq: Int64, now: Int64) async throws -> SinkRewind {
        try await writing { db in try Self.rewind(sink, toSeq: max(0, seq - 1), now: now, db) }
    }

    /// Moves a sink's cursor back to before the first event stamped or stored at or after
    /// `sinceMs`, as ``rewindSinkCursor(_:toRedeliverFromSeq:now:)`` does. When there is no such
    /// event the cursor stays where it is (the sink still resumes).
    public func rewindSinkCursor(
        _ sink: String, toRedeliverSinceMs sinceMs: Int64, now: Int64
    ) async throws -> SinkRewind {
        try await writing { db in
            // Both times: an event published late was stored after its stamp, and a replay
            // "since yesterday" should cover what happened and what arrived since then.
            let first = try Int64.fetchOne(
                db, sql: "SELECT MIN(seq) FROM events WHERE received_ms >= ?1 OR timestamp_ms >= ?1",
                arguments: [sinceMs])
            let target =
                if let first { first - 1 } else {
                    try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM events") ?? 0
                }
            return try Self.rewind(sink, toSeq: target, now: now, db)
        }
    }

    /// Starts a new delivery generation of the sink and returns it; a sink that never ran gets
    /// its cursor, at 0, now.
    @discardableResult
    public func startDeliveryGeneration(_ sink: String, now: Int64) async throws -> Int64 {
        try await pool.write { db in
            try Int64.fetchOne(
                db,
                sql: """
                    INSERT INTO sink_cursors (sink, delivered_seq, updated_ms) VALUES (?1, 0, ?2)
                    ON CONFLICT (sink) DO UPDATE SET delivery_generation = delivery_generation + 1,
                        updated_ms = excluded.updated_ms
                    RETURNING delivery_generation
                    """,
                arguments: [sink, now]) ?? 1
        }
    }

    /// Every sink that has a cursor, by name, with its lag and dead letters; reads only.
    public func sinkStatuses() async throws -> [SinkStatus] {
        try await reading { db in
            try SinkCursorRecord.fetchAll(db, sql: "SELECT \(SinkCursorRecord.columns) FROM sink_cursors ORDER BY sink")
                .map {
                    let cursor = $0.cursor
                    let pending = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT count(*), (SELECT received_ms FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1)
                            FROM events WHERE seq > ?1
                            """,
                        arguments: [cursor.deliveredSeq])
                    let deadLetters =
                        try Int.fetchOne(
                            db, sql: "SELECT count(*) FROM dead_letters WHERE sink = ? AND resent_ms IS NULL",
                            arguments: [cursor.sink]) ?? 0
                    return SinkStatus(
                        cursor: cursor, pendingEvents: pending?[0] ?? 0, oldestPendingReceivedMs: pending?[1],
                        deadLetters: deadLetters)
                }
        }
    }

    private static func sinkCursor(_ sink: String, _ db: Database) throws -> SinkCursor? {
        try SinkCursorRecord.fetchOne(
            db.cachedStatement(sql: "SELECT \(SinkCursorRecord.columns) FROM sink_cursors WHERE sink = ?"),
            arguments: [sink]
        )?.cursor
    }

    private static func rewind(_ sink: String, toSeq target: Int64, now: Int64, _ db: Database) throws -> SinkRewind {
        let previous = try sinkCursor(sink, db)?.deliveredSeq
        try db.execute(
            sql: """
                INSERT INTO sink_cursors (sink, delivered_seq, updated_ms) VALUES (?1, ?2, ?3)
                ON CONFLICT (sink) DO UPDATE SET delivered_seq = MIN(delivered_seq, excluded.delivered_seq),
                    state = 'running', consecutive_failures = 0, updated_ms = excluded.updated_ms,
                    delivery_generation = delivery_generation + 1
                """,
            arguments: [sink, target, now])
        return SinkRewind(previousSeq: previous, deliveredSeq: try sinkCursor(sink, db)?.deliveredSeq ?? target)
    }

    private static func upsertDeadLetter(
        _ sink: String, seq: Int64, id: String, answer: String, now: Int64, _ db: Database
    ) throws {
        // Rejected again after a replay: the newest answer, pending again.
        try db.cachedStatement(
            sql: """
                INSERT INTO dead_letters (sink, event_seq, event_id, answer, recorded_ms) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (sink, event_seq) DO UPDATE SET answer = excluded.answer,
                    recorded_ms = excluded.recorded_ms, resent_ms = NULL
                """
        ).execute(arguments: [sink, seq, id, answer, now])
    }
}
