import Foundation
import GRDB
import NP6Model
import SyncStore

extension PollWrite {
    func apply(_ db: Database) throws -> InsertCounts {
        switch self {
        case .batch(let contact, let events, let malformed, let checkpoint, let now):
            var counts = try Self.insert(events, malformed, contactID: contact.id, now: now, db)
            if let checkpoint {
                // Advance: up to it, never down. Rewind: down to it (NULL: no watermark), never up.
                let watermark =
                    switch checkpoint {
                    case .advance: "MAX(COALESCE(watermark_ms, ?1), ?1)"
                    case .rewind: "CASE WHEN ?1 IS NULL THEN NULL ELSE MIN(COALESCE(watermark_ms, ?1), ?1) END"
                    }
                let ms: Int64? =
                    switch checkpoint {
                    case .advance(let ms): ms
                    case .rewind(let ms): ms
                    }
                try db.cachedStatement(
                    sql: "UPDATE contacts SET watermark_ms = \(watermark) WHERE id = ?2 AND generation = ?3"
                ).execute(arguments: [ms, contact.id, contact.generation])
                counts.supersededByOperator = db.changesCount == 0
            }
            return counts
        case .finish(let contact, let events, let malformed, let watermarkMs, let nextDueMs, let now):
            var counts = try Self.insert(events, malformed, contactID: contact.id, now: now, db)
            try db.cachedStatement(
                sql: """
                    UPDATE contacts SET watermark_ms = MAX(COALESCE(watermark_ms, ?1), ?1),
                        last_attempt_ms = ?2, last_success_ms = ?2, last_status = 'ok', last_error = NULL,
                        consecutive_failures = 0, next_due_ms = ?3
                    WHERE id = ?4 AND generation = ?5
                    """
            ).execute(arguments: [watermarkMs, now, nextDueMs, contact.id, contact.generation])
            counts.supersededByOperator = db.changesCount == 0
            return counts
        case .failure(let contact, let status, let error, let nextDueMs, let now):
            try db.cachedStatement(
                sql: """
                    UPDATE contacts SET last_attempt_ms = ?, last_status = ?, last_error = ?,
                        consecutive_failures = consecutive_failures + 1, next_due_ms = ?
                    WHERE id = ? AND generation = ?
                    """
            ).execute(arguments: [now, status.rawValue, error, nextDueMs, contact.id, contact.generation])
            var counts = InsertCounts()
            counts.supersededByOperator = db.changesCount == 0
            return counts
        }
    }

    private static func insert(
        _ events: [StopEvent],
        _ malformed: [MalformedElement],
        contactID: Int64,
        now: Int64,
        _ db: Database
    ) throws -> InsertCounts {
        var counts = InsertCounts()
        if !events.isEmpty {
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO events (id, contact_id, type, timestamp_ms, identity_type, source_type, payload, received_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO NOTHING
                    """)
            for event in events {
                let payload = String(decoding: event.payload, as: UTF8.self)
                try insert.execute(arguments: [
                    event.id, contactID, event.type, event.timestampMs, event.identityType, event.sourceType, payload,
                    now,
                ])
                if db.changesCount > 0 {
                    counts.new += 1
                } else if let conflict = try recordConflict(event.id, payload, contactID: contactID, now: now, db) {
                    counts.conflicting += 1
                    counts.conflicts.append(conflict)
                } else {
                    counts.duplicate += 1
                }
            }
        }
        if !malformed.isEmpty {
            // The same bad element re-read by an overlapping window is kept, and counted, once.
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO quarantine (contact_id, reason, raw, received_ms) VALUES (?, ?, ?, ?)
                    ON CONFLICT (contact_id, raw) DO NOTHING
                    """)
            for element in malformed {
                try statement.execute(arguments: [contactID, element.reason, Data(element.raw), now])
                counts.quarantined += db.changesCount
            }
        }
        return counts
    }

    /// A stored event id seen again: keeps the copy in `event_conflicts` when its payload differs
    /// from the stored one and it was not kept before. Returns the conflict when it is new.
    private static func recordConflict(
        _ id: String, _ payload: String, contactID: Int64, now: Int64, _ db: Database
    ) throws -> EventConflict? {
        try db.cachedStatement(
            sql: """
                INSERT INTO event_conflicts (event_id, contact_id, payload, received_ms)
                SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM events WHERE id = ?1 AND payload <> ?3)
                ON CONFLICT (event_id, payload) DO NOTHING
                """
        ).execute(arguments: [id, contactID, payload, now])
        guard db.changesCount > 0 else { return nil }
        let first = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT c.kind, c.value FROM events e JOIN contacts c ON c.id = e.contact_id WHERE e.id = ?"),
            arguments: [id])
        let storedFor = first.flatMap { row in
            ContactKind(rawValue: row["kind"]).map { ContactReference(kind: $0, value: row["value"]) }
        }
        return EventConflict(eventID: id, storedFor: storedFor)
    }
}
