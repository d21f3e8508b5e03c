import GRDB
import SyncStore

/// A `sink_cursors` row, decoded by column name.
struct SinkCursorRecord: FetchableRecord, Decodable {
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    /// The columns to select: every one the record decodes.
    static let columns = """
        sink, delivered_seq, state, last_error, last_attempt_ms, last_success_ms, consecutive_failures, updated_ms,
        delivery_generation
        """

    var sink: String
    var deliveredSeq: Int64
    var state: String?
    var lastError: String?
    var lastAttemptMs: Int64?
    var lastSuccessMs: Int64?
    var consecutiveFailures: Int
    var updatedMs: Int64?
    var deliveryGeneration: Int64

    var cursor: SinkCursor {
        SinkCursor(
            sink: sink, deliveredSeq: deliveredSeq, state: state.flatMap(SinkState.init(rawValue:)),
            lastError: lastError,
            lastAttemptMs: lastAttemptMs, lastSuccessMs: lastSuccessMs, consecutiveFailures: consecutiveFailures,
            updatedMs: updatedMs, deliveryGeneration: deliveryGeneration)
    }
}
