import GRDB
import NP6Model
import SyncStore

/// A `contacts` row, decoded by column name.
struct ContactRecord: FetchableRecord, Decodable {
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    /// The columns to select: every one the record decodes.
    static let columns = """
        id, kind, value, enabled, watermark_ms, next_due_ms, last_attempt_ms, last_success_ms,
        last_status, last_error, consecutive_failures, added_ms
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

    /// The contact; `nil` when the kind is not one we know (e.g. typed by hand).
    var contact: StoredContact? {
        guard let kind = ContactKind(rawValue: kind) else { return nil }
        return StoredContact(
            id: id, reference: ContactReference(kind: kind, value: value), enabled: enabled, watermarkMs: watermarkMs,
            nextDueMs: nextDueMs, lastAttemptMs: lastAttemptMs, lastSuccessMs: lastSuccessMs,
            lastStatus: lastStatus.flatMap(ContactStatus.init(rawValue:)), lastError: lastError,
            consecutiveFailures: consecutiveFailures, addedMs: addedMs)
    }
}
