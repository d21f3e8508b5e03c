import GRDB

/// A `dead_letters` row, decoded by column name.
struct DeadLetterRecord: FetchableRecord, Decodable {
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let columns = "sink, event_seq, event_id, answer, recorded_ms, resent_ms"

    var sink: String
    var eventSeq: Int64
    var eventId: String
    var answer: String
    var recordedMs: Int64
    var resentMs: Int64?
}
