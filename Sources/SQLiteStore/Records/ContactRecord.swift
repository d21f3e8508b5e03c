import GRDB
import NP6Model
import SyncStore

/// A `contacts` row, read by column name. Read for every poll (the scheduler's due contacts, the
/// pass's pages), so it reads its columns itself instead of going through `Decodable`.
struct ContactRecord: FetchableRecord {
    /// The columns to select: every one the record decodes.
    static let columns = """
        id, kind, value, enabled, watermark_ms, next_due_ms, last_attempt_ms, last_success_ms,
        last_status, last_error, consecutive_failures, added_ms, generation
        """

    var id: Int64
    var kind: String
    var value: String
    var enabled: Bool
    var watermarkMs: Int64?
    var nextDueMs: Int64
    var lastAttemptMs: Int64?
    var lastSuccessMs: Int64?
    var lastStatus: String?
    var lastError: String?
    var consecutiveFailures: Int
    var addedMs: Int64
    var generation: Int64

    init(row: Row) {
        id = row["id"]
        kind = row["kind"]
        value = row["value"]
        enabled = row["enabled"]
        watermarkMs = row["watermark_ms"]
        nextDueMs = row["next_due_ms"]
        lastAttemptMs = row["last_attempt_ms"]
        lastSuccessMs = row["last_success_ms"]
        lastStatus = row["last_status"]
        lastError = row["last_error"]
        consecutiveFailures = row["consecutive_failures"]
        addedMs = row["added_ms"]
        generation = row["generation"]
    }

    /// The contact; `nil` when the kind is not one we know (e.g. typed by hand).
    var contact: StoredContact? {
        guard let kind = ContactKind(rawValue: kind) else { return nil }
        return StoredContact(
            id: id, reference: ContactReference(kind: kind, value: value), enabled: enabled, watermarkMs: watermarkMs,
            nextDueMs: nextDueMs, lastAttemptMs: lastAttemptMs, lastSuccessMs: lastSuccessMs,
            lastStatus: lastStatus.flatMap(ContactStatus.init(rawValue:)), lastError: lastError,
            consecutiveFailures: consecutiveFailures, addedMs: addedMs, generation: generation)
    }
}
