import Logging
import NIOCore
import NP6Model
import PostgresNIO
import SyncStore

/// The PostgreSQL side of group commit: a transaction's writes in a few round trips. The
/// malformed elements go in one statement; then each write's contact update, in order, fenced
/// by the contact's generation and, for a poll that claimed its contact, by its lease token
/// (another instance took the contact over: the row is the new holder's), a poll's last write
/// (`finish`, `failure`) giving its lease up; then every event of the transaction in one
/// `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` (in order, so `seq` follows arrival as
/// in SQLite), and the ids seen again in one statement that keeps their other payloads in
/// `event_conflicts`.
///
/// Transactions that insert events take an advisory lock before the insert, so they commit one
/// after the other: a `seq` is never committed after a higher one, and a sink reading
/// `seq > cursor` never skips an event (PostgreSQL hands out sequence values in no commit
/// order). The lock is taken after the transaction's other writes, and held only for the insert,
/// the conflicts and COMMIT; `SessionLimits` bounds how long a frozen holder keeps it and how
/// long another commit waits for it.
struct PostgresPollWriteCommitter: PollWriteCommitter {
    let client: PostgresClient
    let logger: Logger

    /// The advisory lock of the transactions that insert events (see above); any constant will do.
    static let eventWriterLock: Int64 = 0x6e70_365f_6576_6e74

    func commit(_ writes: [PollWrite]) async throws -> [InsertCounts] {
        try await client.withConnection { connection in
            try await PostgresEventStore.transaction(connection, logger: logger) { connection in
                try await Self.apply(writes, connection, logger: logger)
            }
        }
    }

    func concernsOneWrite(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("23")
    }

    func storeError(_ error: any Error) -> any Error {
        PostgresEventStore.storeError(error)
    }

    /// Applies `writes` in the transaction open on `connection`.
    static func apply(
        _ writes: [PollWrite], _ connection: PostgresConnection, logger: Logger
    ) async throws -> [InsertCounts] {
        var counts = Array(repeating: InsertCounts(), count: writes.count)
        try await quarantine(writes, &counts, connection, logger: logger)
        for (index, write) in writes.enumerated() {
            counts[index].supersededByOperator = try await updateContact(write, connection, logger: logger)
        }
        // Last, so that the advisory lock every other daemon's commit waits for is held for the
        // fewest round trips (the insert, the conflicts, COMMIT); a daemon frozen in between is
        // cut by `idle_in_transaction_session_timeout` (`SessionLimits`).
        try await insertEvents(writes, &counts, connection, logger: logger)
        return counts
    }

    private struct Element {
        var write: Int
        var contactID: Int64
        var now: Int64
    }

    private static func elements(
        of write: PollWrite
    ) -> (
        contact: PollTarget, events: [StopEvent], malformed: [MalformedElement], now: Int64
    )? {
        switch write {
        case .batch(let contact, let events, let malformed, _, let now),
            .finish(let contact, let events, let malformed, _, _, let now):
            (contact, events, malformed, now)
        case .failure:
            nil
        }
    }

    private static func insertEvents(
        _ writes: [PollWrite], _ counts: inout [InsertCounts], _ connection: PostgresConnection, logger: Logger
    ) async throws {
        var owners: [Element] = []
        var ids: [String] = []
        var contactIDs: [Int64] = []
        var types: [String?] = []
        var timestamps: [Int64] = []
        var identityTypes: [String?] = []
        var sourceTypes: [String?] = []
        var payloads: [String] = []
        var received: [Int64] = []
        for (index, write) in writes.enumerated() {
            guard let (contact, events, _, now) = elements(of: write) else { continue }
            for event in events {
                owners.append(Element(write: index, contactID: contact.id, now: now))
                ids.append(event.id)
                contactIDs.append(contact.id)
                types.append(event.type)
                timestamps.append(event.timestampMs)
                identityTypes.append(event.identityType)
                sourceTypes.append(event.sourceType)
                payloads.append(String(decoding: event.payload, as: UTF8.self))
                received.append(now)
            }
        }
        guard !ids.isEmpty else { return }
        try await connection.run("SELECT pg_advisory_xact_lock(\(eventWriterLock))", logger: logger)
        // The first occurrence of each id in the transaction goes to the INSERT; the statement
        // returns the ordinals of those it did not insert (stored before). Those, and every later
        // occurrence, were stored before (or earlier in this transaction): a duplicate, or a
        // conflict when the payload differs.
        var firstSeen = Set<String>()
        var first: [Int] = []
        var seen: [Int] = []
        for index in ids.indices {
            if firstSeen.insert(ids[index]).inserted { first.append(index) } else { seen.append(index) }
        }
        try connection.ensureOpen()
        let rows = try await connection.query(
            """
            WITH input AS (
                SELECT * FROM unnest(\(PackedArray.text(first.map { ids[$0] }))::text[],
                    \(PackedArray.bigint(first.map { contactIDs[$0] }))::bigint[],
                    \(PackedArray.text(first.map { types[$0] }))::text[],
                    \(PackedArray.bigint(first.map { timestamps[$0] }))::bigint[],
                    \(PackedArray.text(first.map { identityTypes[$0] }))::text[],
                    \(PackedArray.text(first.map { sourceTypes[$0] }))::text[],
                    \(PackedArray.text(first.map { payloads[$0] }))::text[],
                    \(PackedArray.bigint(first.map { received[$0] }))::bigint[])
                    WITH ORDINALITY AS input (id, contact_id, type, timestamp_ms, identity_type, source_type, payload,
                        received_ms, ord)
            ),
            inserted AS (
                INSERT INTO events (id, contact_id, type, timestamp_ms, identity_type, source_type, payload,
                    received_ms)
                SELECT id, contact_id, type, timestamp_ms, identity_type, source_type, payload, received_ms
                FROM input ORDER BY ord
                ON CONFLICT (id) DO NOTHING
                RETURNING id
            )
            SELECT ord FROM input WHERE NOT EXISTS (SELECT 1 FROM inserted WHERE inserted.id = input.id)
            """, logger: logger)
        var stored = Set<Int>()
        for try await ordinal in rows.decode(Int.self) { stored.insert(ordinal - 1) }
        for (position, index) in first.enumerated() {
            if stored.contains(position) {
                seen.append(index)
            } else {
                counts[owners[index].write].new += 1
            }
        }
        seen.sort()
        guard !seen.isEmpty else { return }
        try connection.ensureOpen()
        let conflicts = try await connection.query(
            """
            WITH candidate AS (
                SELECT * FROM unnest(\(PackedArray.text(seen.map { ids[$0] }))::text[],
                    \(PackedArray.bigint(seen.map { contactIDs[$0] }))::bigint[],
                    \(PackedArray.text(seen.map { payloads[$0] }))::text[],
                    \(PackedArray.bigint(seen.map { received[$0] }))::bigint[])
                    WITH ORDINALITY AS candidate (event_id, contact_id, payload, received_ms, ord)
            ),
            kept AS (
                INSERT INTO event_conflicts (event_id, contact_id, payload, received_ms)
                SELECT c.event_id, c.contact_id, c.payload, c.received_ms
                FROM candidate c JOIN events e ON e.id = c.event_id AND e.payload <> c.payload
                ORDER BY c.ord
                ON CONFLICT (event_id, md5(payload)) DO NOTHING
                RETURNING event_id, payload
            )
            SELECT kept.event_id, kept.payload, c.kind, c.value
            FROM kept JOIN events e ON e.id = kept.event_id LEFT JOIN contacts c ON c.id = e.contact_id
            """, logger: logger)
        var kept: [ConflictKey: ContactReference?] = [:]
        for try await (id, payload, kind, value) in conflicts.decode((String, String, String?, String?).self) {
            kept[ConflictKey(id: id, payload: payload)] =
                kind.flatMap(ContactKind.init(rawValue:)).flatMap { kind in
                    value.map { ContactReference(kind: kind, value: $0) }
                }
        }
        for index in seen {
            let write = owners[index].write
            if let storedFor = kept.removeValue(forKey: ConflictKey(id: ids[index], payload: payloads[index])) {
                counts[write].conflicting += 1
                counts[write].conflicts.append(EventConflict(eventID: ids[index], storedFor: storedFor))
            } else {
                counts[write].duplicate += 1
            }
        }
    }

    private struct ConflictKey: Hashable {
        var id: String
        var payload: String
    }

    private struct QuarantineKey: Hashable {
        var contactID: Int64?
        var raw: [UInt8]
    }

    /// The same bad element re-read by an overlapping window is kept, and counted, once.
    private static func quarantine(
        _ writes: [PollWrite], _ counts: inout [InsertCounts], _ connection: PostgresConnection, logger: Logger
    ) async throws {
        var owners: [Int] = []
        var contactIDs: [Int64] = []
        var reasons: [String] = []
        var raws: [ByteBuffer] = []
        var received: [Int64] = []
        for (index, write) in writes.enumerated() {
            guard let (contact, _, malformed, now) = elements(of: write) else { continue }
            for element in malformed {
                owners.append(index)
                contactIDs.append(contact.id)
                reasons.append(element.reason)
                raws.append(ByteBuffer(bytes: element.raw))
                received.append(now)
            }
        }
        guard !owners.isEmpty else { return }
        try connection.ensureOpen()
        let rows = try await connection.query(
            """
            INSERT INTO quarantine (contact_id, reason, raw, received_ms)
            SELECT contact_id, reason, raw, received_ms
            FROM unnest(\(PackedArray.bigint(contactIDs))::bigint[], \(PackedArray.text(reasons))::text[],
                \(raws)::bytea[], \(PackedArray.bigint(received))::bigint[])
                WITH ORDINALITY AS input (contact_id, reason, raw, received_ms, ord)
            ORDER BY ord
            ON CONFLICT (contact_id, sha256(raw)) DO NOTHING
            RETURNING contact_id, raw
            """, logger: logger)
        var inserted = Set<QuarantineKey>()
        for try await (contactID, raw) in rows.decode((Int64?, ByteBuffer).self) {
            inserted.insert(QuarantineKey(contactID: contactID, raw: Array(buffer: raw)))
        }
        for (index, write) in owners.enumerated()
        where inserted.remove(QuarantineKey(contactID: contactIDs[index], raw: Array(buffer: raws[index]))) != nil {
            counts[write].quarantined += 1
        }
    }

    /// Moves the contact's row as the write says, while its generation is the poll's and (for a
    /// claimed contact) its lease token too; returns whether an operator's command or another
    /// instance superseded the poll (the row was left as it is). `finish` and `failure` give a
    /// claimed contact's lease up (a CASE without ELSE is NULL).
    private static func updateContact(
        _ write: PollWrite, _ connection: PostgresConnection, logger: Logger
    ) async throws -> Bool {
        let changed: Int
        switch write {
        case .batch(let contact, _, _, let checkpoint, _):
            switch checkpoint {
            case nil:
                return false
            case .advance(let ms):
                // Up to it, never down.
                changed = try await connection.count(
                    """
                    UPDATE contacts SET watermark_ms = GREATEST(COALESCE(watermark_ms, \(ms)), \(ms))
                    WHERE id = \(contact.id) AND generation = \(contact.generation)
                        AND (\(contact.leaseToken)::bigint IS NULL OR lease_token = \(contact.leaseToken)) RETURNING 1
                    """, logger: logger)
            case .rewind(let ms):
                // Down to it (NULL: no watermark), never up.
                changed = try await connection.count(
                    """
                    UPDATE contacts SET watermark_ms = CASE WHEN \(ms)::bigint IS NULL THEN NULL
                        ELSE LEAST(COALESCE(watermark_ms, \(ms)), \(ms)) END
                    WHERE id = \(contact.id) AND generation = \(contact.generation)
                        AND (\(contact.leaseToken)::bigint IS NULL OR lease_token = \(contact.leaseToken)) RETURNING 1
                    """, logger: logger)
            }
        case .finish(let contact, _, _, let watermarkMs, let nextDueMs, let now):
            changed = try await connection.count(
                """
                UPDATE contacts SET watermark_ms = GREATEST(COALESCE(watermark_ms, \(watermarkMs)), \(watermarkMs)),
                    last_attempt_ms = \(now), last_success_ms = \(now), last_status = 'ok', last_error = NULL,
                    consecutive_failures = 0, next_due_ms = \(nextDueMs),
                    lease_owner = CASE WHEN \(contact.leaseToken)::bigint IS NULL THEN lease_owner END,
                    lease_until_ms = CASE WHEN \(contact.leaseToken)::bigint IS NULL THEN lease_until_ms END
                WHERE id = \(contact.id) AND generation = \(contact.generation)
                    AND (\(contact.leaseToken)::bigint IS NULL OR lease_token = \(contact.leaseToken)) RETURNING 1
                """, logger: logger)
        case .failure(let contact, let status, let error, let nextDueMs, let now):
            changed = try await connection.count(
                """
                UPDATE contacts SET last_attempt_ms = \(now), last_status = \(status.rawValue), last_error = \(error),
                    consecutive_failures = consecutive_failures + 1, next_due_ms = \(nextDueMs),
                    lease_owner = CASE WHEN \(contact.leaseToken)::bigint IS NULL THEN lease_owner END,
                    lease_until_ms = CASE WHEN \(contact.leaseToken)::bigint IS NULL THEN lease_until_ms END
                WHERE id = \(contact.id) AND generation = \(contact.generation)
                    AND (\(contact.leaseToken)::bigint IS NULL OR lease_token = \(contact.leaseToken)) RETURNING 1
                """, logger: logger)
        }
        if changed == 0, case .finish(let contact, _, _, _, _, _) = write {
            try await release(contact, connection, logger)
        }
        if changed == 0, case .failure(let contact, _, _, _, _) = write {
            try await release(contact, connection, logger)
        }
        return changed == 0
    }

    /// Gives up the lease of a poll whose last write an operator's command superseded, so the
    /// contact is due as the command set it, not when the lease would have expired.
    private static func release(_ contact: PollTarget, _ connection: PostgresConnection, _ logger: Logger) async throws
    {
        guard let token = contact.leaseToken else { return }
        try await connection.run(
            """
            UPDATE contacts SET lease_owner = NULL, lease_until_ms = NULL
            WHERE id = \(contact.id) AND lease_token = \(token)
            """, logger: logger)
    }
}
