import Logging
import PostgresNIO
import SyncStore

/// Sink delivery: cursors, delivery state, dead letters, replays; the same invariant as the
/// SQLite store's: a sink's `delivered_seq` only passes events its receiver acknowledged or that
/// were recorded as dead letters in the same transaction, and moves back only by a replay.
extension PostgresEventStore {
    /// Creates the cursor of a sink seen for the first time, once: at 0, or with
    /// `startingAfterLatest` at the latest stored event. An existing cursor is kept.
    @discardableResult
    public func createSinkCursor(_ sink: String, startingAfterLatest: Bool, now: Int64) async throws -> SinkCursor {
        try await writing { connection in
            try await connection.run(
                """
                INSERT INTO sink_cursors (sink, delivered_seq, updated_ms)
                VALUES (\(sink), CASE WHEN \(startingAfterLatest) THEN (SELECT COALESCE(max(seq), 0) FROM events)
                    ELSE 0 END, \(now))
                ON CONFLICT (sink) DO NOTHING
                """, logger: logger)
            guard let cursor = try await Self.sinkCursor(sink, connection, logger: logger) else {
                throw SyncStoreError.sinkCursorMissing(sink)
            }
            return cursor
        }
    }

    /// The sink's cursor; `nil` for a sink that has never run.
    public func sinkCursor(_ sink: String) async throws -> SinkCursor? {
        try await reading { connection in try await Self.sinkCursor(sink, connection, logger: logger) }
    }

    /// The sink's cursor and up to `limit` events after it, in `seq` order, read together (one
    /// repeatable-read transaction); `nil` when the sink has no cursor.
    public func pendingBatch(for sink: String, limit: Int) async throws -> (cursor: SinkCursor, events: [StoredEvent])?
    {
        try await writing { connection in
            try await connection.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            guard let cursor = try await Self.sinkCursor(sink, connection, logger: logger) else { return nil }
            let events = try await EventRow.fetch(
                connection, "WHERE e.seq > \(cursor.deliveredSeq) ORDER BY e.seq LIMIT \(limit)", logger: logger)
            return (cursor, events)
        }
    }

    /// Records that the sink acknowledged every event up to `seq`, and marks it running; writes
    /// nothing when the cursor is no longer at `expectedSeq` (a replay moved it: the replay wins)
    /// or, with `leaseToken`, when another instance took the sink's lease over.
    @discardableResult
    public func advanceSinkCursor(
        _ sink: String, from expectedSeq: Int64, to seq: Int64, now: Int64, fencedBy leaseToken: Int64?
    ) async throws -> Bool {
        precondition(seq > expectedSeq, "a cursor only moves forward here; replays use rewindSinkCursor")
        return try await writing { connection in
            try await connection.count(
                """
                UPDATE sink_cursors SET delivered_seq = \(seq), state = 'running', last_error = NULL,
                    consecutive_failures = 0, last_attempt_ms = \(now), last_success_ms = \(now), updated_ms = \(now)
                WHERE sink = \(sink) AND delivered_seq = \(expectedSeq)
                    AND (\(leaseToken)::bigint IS NULL OR lease_token = \(leaseToken)) RETURNING 1
                """, logger: logger) > 0
        }
    }

    /// Records a failed delivery: `failing` (retried with backoff) or `stopped` (rejected for good);
    /// with `leaseToken`, only while the sink's lease is that one.
    public func recordSinkFailure(
        _ sink: String, state: SinkState, error: String, now: Int64, fencedBy leaseToken: Int64?
    ) async throws {
        try await writing { connection in
            try await connection.run(
                """
                UPDATE sink_cursors SET state = \(state.rawValue), last_error = \(error),
                    consecutive_failures = consecutive_failures + 1, last_attempt_ms = \(now), updated_ms = \(now)
                WHERE sink = \(sink) AND (\(leaseToken)::bigint IS NULL OR lease_token = \(leaseToken))
                """, logger: logger)
        }
    }

    /// Marks a sink running again; its last error stays visible until a delivery succeeds. With
    /// `leaseToken`, only while the sink's lease is that one.
    public func recordSinkRunning(_ sink: String, now: Int64, fencedBy leaseToken: Int64?) async throws {
        try await writing { connection in
            try await connection.run(
                """
                UPDATE sink_cursors SET state = 'running', updated_ms = \(now)
                WHERE sink = \(sink) AND (\(leaseToken)::bigint IS NULL OR lease_token = \(leaseToken))
                """, logger: logger)
        }
    }

    /// Sets an event aside as rejected by the sink's receiver and moves the cursor past it, in
    /// one transaction, fenced as `advanceSinkCursor` is. Returns whether the cursor moved (and
    /// the dead letter was recorded).
    @discardableResult
    public func recordDeadLetter(
        _ sink: String, event: StoredEvent, answer: String, advancingCursorFrom expectedSeq: Int64, now: Int64,
        fencedBy leaseToken: Int64?
    ) async throws -> Bool {
        precondition(event.seq > expectedSeq)
        return try await writing { connection in
            let moved = try await connection.count(
                """
                UPDATE sink_cursors SET delivered_seq = \(event.seq), last_attempt_ms = \(now), updated_ms = \(now)
                WHERE sink = \(sink) AND delivered_seq = \(expectedSeq)
                    AND (\(leaseToken)::bigint IS NULL OR lease_token = \(leaseToken)) RETURNING 1
                """, logger: logger)
            guard moved > 0 else { return false }
            // Rejected again after a replay: the newest answer, pending again.
            try await connection.run(
                """
                INSERT INTO dead_letters (sink, event_seq, event_id, answer, recorded_ms)
                VALUES (\(sink), \(event.seq), \(event.id), \(answer), \(now))
                ON CONFLICT (sink, event_seq) DO UPDATE SET answer = excluded.answer,
                    recorded_ms = excluded.recorded_ms, resent_ms = NULL
                """, logger: logger)
            return true
        }
    }

    /// The events a sink set aside and has not re-sent successfully, in `seq` order.
    public func pendingDeadLetters(for sink: String) async throws -> [DeadLetter] {
        try await reading { connection in
            let rows = try await connection.query(
                """
                SELECT sink, event_seq, event_id, answer, recorded_ms, resent_ms FROM dead_letters
                WHERE sink = \(sink) AND resent_ms IS NULL ORDER BY event_seq
                """, logger: logger)
            var letters: [DeadLetter] = []
            for try await (sink, seq, id, answer, recordedMs, resentMs) in rows.decode(
                (String, Int64, String, String, Int64, Int64?).self)
            {
                letters.append(
                    DeadLetter(
                        sink: sink, eventSeq: seq, eventID: id, answer: answer, recordedMs: recordedMs,
                        resentMs: resentMs, event: nil))
            }
            guard !letters.isEmpty else { return letters }
            let events = try await EventRow.fetch(
                connection, "WHERE e.seq = ANY(\(letters.map(\.eventSeq))::bigint[])", logger: logger)
            let bySeq = Dictionary(events.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
            return letters.map { letter in
                var letter = letter
                letter.event = bySeq[letter.eventSeq]
                return letter
            }
        }
    }

    /// Records the outcome of re-sending a dead letter: acknowledged (`answer` nil) or rejected again.
    public func recordDeadLetterResend(
        _ sink: String, seq: Int64, rejectedWith answer: String?, now: Int64
    ) async throws {
        try await writing { connection in
            if let answer {
                try await connection.run(
                    """
                    UPDATE dead_letters SET answer = \(answer), recorded_ms = \(now)
                    WHERE sink = \(sink) AND event_seq = \(seq)
                    """, logger: logger)
            } else {
                try await connection.run(
                    "UPDATE dead_letters SET resent_ms = \(now) WHERE sink = \(sink) AND event_seq = \(seq)",
                    logger: logger)
            }
        }
    }

    /// Moves a sink's cursor back so that it delivers again every event from `seq` on, marks it
    /// running and starts a new delivery generation. A cursor already before that point stays.
    public func rewindSinkCursor(_ sink: String, toRedeliverFromSeq seq: Int64, now: Int64) async throws -> SinkRewind {
        try await writing { connection in
            try await Self.rewind(sink, toSeq: max(0, seq - 1), now: now, connection, logger: logger)
        }
    }

    /// As ``rewindSinkCursor(_:toRedeliverFromSeq:now:)``, from the first event stamped or stored
    /// at or after `sinceMs`; with no such event the cursor stays (the sink still resumes).
    public func rewindSinkCursor(
        _ sink: String, toRedeliverSinceMs sinceMs: Int64, now: Int64
    ) async throws -> SinkRewind {
        try await writing { connection in
            // Both times: an event published late was stored after its stamp.
            let target =
                try await connection.query(
                    """
                    SELECT COALESCE(
                        (SELECT min(seq) - 1 FROM events WHERE received_ms >= \(sinceMs) OR timestamp_ms >= \(sinceMs)),
                        (SELECT COALESCE(max(seq), 0) FROM events))
                    """, logger: logger
                ).collect().first?.decode(Int64.self) ?? 0
            return try await Self.rewind(sink, toSeq: target, now: now, connection, logger: logger)
        }
    }

    /// Starts a new delivery generation of the sink and returns it; a sink that never ran gets
    /// its cursor, at 0, now.
    @discardableResult
    public func startDeliveryGeneration(_ sink: String, now: Int64) async throws -> Int64 {
        try await writing { connection in
            try await connection.query(
                """
                INSERT INTO sink_cursors (sink, delivered_seq, updated_ms) VALUES (\(sink), 0, \(now))
                ON CONFLICT (sink) DO UPDATE SET delivery_generation = sink_cursors.delivery_generation + 1,
                    updated_ms = excluded.updated_ms
                RETURNING delivery_generation
                """, logger: logger
            ).collect().first?.decode(Int64.self) ?? 1
        }
    }

    /// Every sink that has a cursor, by name, with its lag and dead letters; reads only.
    public func sinkStatuses() async throws -> [SinkStatus] {
        try await writing { connection in
            try await connection.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            var statuses: [SinkStatus] = []
            for cursor in try await SinkCursorRow.fetch(connection, "ORDER BY sink", logger: logger) {
                let rows = try await connection.query(
                    """
                    SELECT (SELECT count(*) FROM events WHERE seq > \(cursor.deliveredSeq)),
                        (SELECT received_ms FROM events WHERE seq > \(cursor.deliveredSeq) ORDER BY seq LIMIT 1),
                        (SELECT count(*) FROM dead_letters WHERE sink = \(cursor.sink) AND resent_ms IS NULL),
                        s.lease_owner, s.lease_until_ms, i.host, i.pid
                    FROM sink_cursors s LEFT JOIN instances i ON i.id = s.lease_owner
                    WHERE s.sink = \(cursor.sink)
                    """, logger: logger)
                for try await (pending, oldest, deadLetters, owner, until, host, pid) in rows.decode(
                    (Int, Int64?, Int, String?, Int64?, String?, Int64?).self)
                {
                    let lease = owner.flatMap { owner in
                        until.map { SinkLease(owner: owner, host: host, pid: pid, untilMs: $0) }
                    }
                    statuses.append(
                        SinkStatus(
                            cursor: cursor, pendingEvents: pending, oldestPendingReceivedMs: oldest,
                            deadLetters: deadLetters, lease: lease))
                }
            }
            return statuses
        }
    }

    private static func sinkCursor(
        _ sink: String, _ connection: PostgresConnection, logger: Logger
    ) async throws
        -> SinkCursor?
    {
        try await SinkCursorRow.fetch(connection, "WHERE sink = \(sink)", logger: logger).first
    }

    private static func rewind(
        _ sink: String, toSeq target: Int64, now: Int64, _ connection: PostgresConnection, logger: Logger
    ) async throws -> SinkRewind {
        let previous = try await sinkCursor(sink, connection, logger: logger)?.deliveredSeq
        try await connection.run(
            """
            INSERT INTO sink_cursors (sink, delivered_seq, updated_ms) VALUES (\(sink), \(target), \(now))
            ON CONFLICT (sink) DO UPDATE SET
                delivered_seq = LEAST(sink_cursors.delivered_seq, excluded.delivered_seq),
                state = 'running', consecutive_failures = 0, updated_ms = excluded.updated_ms,
                delivery_generation = sink_cursors.delivery_generation + 1
            """, logger: logger)
        let cursor = try await sinkCursor(sink, connection, logger: logger)
        return SinkRewind(previousSeq: previous, deliveredSeq: cursor?.deliveredSeq ?? target)
    }
}
