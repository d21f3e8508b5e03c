import GRDB
import NP6Client

/// What the last poll of a contact concluded, as stored in `contacts.last_status`.
public enum ContactStatus: String, Sendable, Hashable, CaseIterable {
    case ok
    /// The API answered 404: re-checked every `schedule.notFoundRecheckSeconds`.
    case notFound = "not_found"
    /// A transient fault (5xx, timeout, dropped connection, malformed body): retried with backoff.
    case failed
    /// 429: retried after the pause the API asked for.
    case rateLimited = "rate_limited"
    /// 401/403: the key was refused.
    case unauthorized
}

/// A row of `contacts`.
public struct StoredContact: Sendable, Hashable {
    public var id: Int64
    public var reference: ContactReference
    public var enabled: Bool
    /// Every event with `timestamp < watermarkMs` is stored; `nil` until the first complete poll.
    public var watermarkMs: Int64?
    public var nextDueMs: Int64
    public var lastAttemptMs: Int64?
    public var lastSuccessMs: Int64?
    /// `nil` for a status this build does not know (written by hand or by a newer version).
    public var lastStatus: ContactStatus?
    public var lastError: String?
    public var consecutiveFailures: Int
    public var addedMs: Int64

    static let columns = """
        id, kind, value, enabled, watermark_ms, next_due_ms, last_attempt_ms, last_success_ms,
        last_status, last_error, consecutive_failures, added_ms
        """

    /// Reads a row selected with `columns`; `nil` when the kind is not one we know (e.g. typed by hand).
    init?(row: Row) {
        guard let kind = ContactKind(rawValue: row[1]) else { return nil }
        id = row[0]
        reference = ContactReference(kind: kind, value: row[2])
        enabled = row[3]
        watermarkMs = row[4]
        nextDueMs = row[5]
        lastAttemptMs = row[6]
        lastSuccessMs = row[7]
        lastStatus = (row[8] as String?).flatMap(ContactStatus.init(rawValue:))
        lastError = row[9]
        consecutiveFailures = row[10]
        addedMs = row[11]
    }
}
