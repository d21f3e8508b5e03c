import Logging
import NP6Model
import PostgresNIO
import SyncStore

extension PostgresQuery {
    /// `sql` followed by `rest`, whose parameters keep their numbers (`sql` has none).
    init(_ sql: String, then rest: PostgresQuery) {
        self.init(unsafeSQL: sql + " " + rest.sql, binds: rest.binds)
    }
}

/// A `contacts` row, read in the order of ``columns``.
enum ContactRow {
    static let columns = """
        id, kind, value, enabled, watermark_ms, next_due_ms, last_attempt_ms, last_success_ms,
        last_status, last_error, consecutive_failures, added_ms, generation
        """

    /// The contacts `SELECT columns FROM contacts <rest>` finds; a kind this build does not
    /// know (typed by hand) is skipped.
    static func fetch(
        _ connection: PostgresConnection, _ rest: PostgresQuery, logger: Logger
    ) async throws
        -> [StoredContact]
    {
        let rows = try await connection.query(
            PostgresQuery("SELECT \(columns) FROM contacts", then: rest), logger: logger)
        var contacts: [StoredContact] = []
        for try await row in rows {
            if let contact = try decode(row) { contacts.append(contact) }
        }
        return contacts
    }

    static func decode(_ row: PostgresRow) throws -> StoredContact? {
        let (
            id, kind, value, enabled, watermarkMs, nextDueMs, lastAttemptMs, lastSuccessMs, lastStatus, lastError,
            consecutiveFailures, addedMs, generation
        ) = try row.decode(
            (
                Int64, String, String, Int, Int64?, Int64, Int64?, Int64?, String?, String?, Int, Int64, Int64
            ).self)
        guard let kind = ContactKind(rawValue: kind) else { return nil }
        return StoredContact(
            id: id, reference: ContactReference(kind: kind, value: value), enabled: enabled != 0,
            watermarkMs: watermarkMs, nextDueMs: nextDueMs, lastAttemptMs: lastAttemptMs, lastSuccessMs: lastSuccessMs,
            lastStatus: lastStatus.flatMap(ContactStatus.init(rawValue:)), lastError: lastError,
            consecutiveFailures: consecutiveFailures, addedMs: addedMs, generation: generation)
    }
}

/// An `events` row joined with its contact's reference, read in the order of ``selection``.
enum EventRow {
    /// The query to extend with `WHERE …`.
    static let selection = """
        SELECT e.seq, e.id, c.kind, c.value, e.type, e.timestamp_ms, e.identity_type, e.source_type, e.payload,
               e.received_ms
        FROM events e LEFT JOIN contacts c ON c.id = e.contact_id
        """

    static func fetch(
        _ connection: PostgresConnection, _ rest: PostgresQuery, logger: Logger
    ) async throws
        -> [StoredEvent]
    {
        var events: [StoredEvent] = []
        for try await row in try await connection.query(PostgresQuery(selection, then: rest), logger: logger) {
            events.append(try decode(row))
        }
        return events
    }

    static func decode(_ row: PostgresRow) throws -> StoredEvent {
        let (seq, id, kind, value, type, timestampMs, identityType, sourceType, payload, receivedMs) =
            try row.decode((Int64, String, String?, String?, String?, Int64, String?, String?, String, Int64).self)
        var contact: ContactReference?
        if let kind = kind.flatMap(ContactKind.init(rawValue:)), let value {
            contact = ContactReference(kind: kind, value: value)
        }
        return StoredEvent(
            seq: seq, id: id, contact: contact, type: type, timestampMs: timestampMs, identityType: identityType,
            sourceType: sourceType, payload: payload, receivedMs: receivedMs)
    }
}

/// A `sink_cursors` row, read in the order of ``columns``.
enum SinkCursorRow {
    static let columns = """
        sink, delivered_seq, state, last_error, last_attempt_ms, last_success_ms, consecutive_failures, updated_ms,
        delivery_generation
        """

    static func fetch(
        _ connection: PostgresConnection, _ rest: PostgresQuery, logger: Logger
    ) async throws
        -> [SinkCursor]
    {
        var cursors: [SinkCursor] = []
        for try await row in try await connection.query(
            PostgresQuery("SELECT \(columns) FROM sink_cursors", then: rest), logger: logger)
        {
            let (sink, deliveredSeq, state, lastError, lastAttemptMs, lastSuccessMs, failures, updatedMs, generation) =
                try row.decode((String, Int64, String?, String?, Int64?, Int64?, Int, Int64?, Int64).self)
            cursors.append(
                SinkCursor(
                    sink: sink, deliveredSeq: deliveredSeq, state: state.flatMap(SinkState.init(rawValue:)),
                    lastError: lastError, lastAttemptMs: lastAttemptMs, lastSuccessMs: lastSuccessMs,
                    consecutiveFailures: failures, updatedMs: updatedMs, deliveryGeneration: generation))
        }
        return cursors
    }
}
