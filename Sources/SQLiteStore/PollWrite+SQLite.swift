import Foundation
import GRDB
import NP6Model
import SyncStore

extension PollWrite {
    func apply(_ db: Database) throws -> InsertCounts {
        switch self {
        case .batch(let contactID, let events, let malformed, let checkpointMs, let now):
            let counts = try Self.insert(events, malformed, contactID: contactID, now: now, db)
            if let checkpointMs {
                try db.cachedStatement(
                    sql: """
                        UPDATE contacts SET watermark_ms = MAX(COALESCE(watermark_ms, ?1), ?1) WHERE id = ?2
                        """
                ).execute(arguments: [checkpointMs, contactID])
            }
            return counts
        case .finish(let contactID, let events, let malformed, let watermarkMs, let nextDueMs, let now):
            let counts = try Self.insert(events, malformed, contactID: contactID, now: now, db)
            try db.cachedStatement(
                sql: """
                    UPDATE contacts SET watermark_ms = MAX(COALESCE(watermark_ms, ?1), ?1),
                        last_attempt_ms = ?2, last_success_ms = ?2, last_status = 'ok', last_error = NULL,
                        consecutive_failures = 0, next_due_ms = ?3
                    WHERE id = ?4
                    """
            ).execute(arguments: [watermarkMs, now, nextDueMs, contactID])
            return counts
        case .failure(let contactID, let status, let error, let nextDueMs, let now):
            try db.cachedStatement(
                sql: """
                    UPDATE contacts SET last_attempt_ms = ?, last_status = ?, last_error = ?,
                        consecutive_failures = consecutive_failures + 1, next_due_ms = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [now, status.rawValue, error, nextDueMs, contactID])
            return InsertCounts()
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
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO events (id, contact_id, type, timestamp_ms, identity_type, source_type, payload, received_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO NOTHING
                    """)
            for event in events {
                try statement.execute(arguments: [
                    event.id, contactID, event.type, event.timestampMs, event.identityType, event.sourceType,
                    String(decoding: event.payload, as: UTF8.self), now,
                ])
                if db.changesCount > 0 { counts.new += 1 } else { counts.duplicate += 1 }
            }
        }
        if !malformed.isEmpty {
            // The same bad element re-read by an overlapping window is kept once.
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO quarantine (contact_id, reason, raw, received_ms) VALUES (?, ?, ?, ?)
                    ON CONFLICT (contact_id, raw) DO NOTHING
                    """)
            for element in malformed {
                try statement.execute(arguments: [contactID, element.reason, Data(element.raw), now])
            }
            counts.quarantined = malformed.count
        }
        return counts
    }
}
