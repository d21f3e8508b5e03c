import GRDB
import NP6Model
import SyncStore

/// An `events` row joined with its contact's reference, decoded by column name.
struct EventRecord: FetchableRecord, Decodable {
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    /// The query to extend with `WHERE …`: every column the record decodes.
    static let selection = """
        SELECT e.seq, e.id, c.kind AS contact_kind, c.value AS contact_value, e.type, e.timestamp_ms,
               e.identity_type, e.source_type, e.payload, e.received_ms
        FROM events e LEFT JOIN contacts c ON c.id = e.contact_id
        """

    var seq: Int64
    var id: String
    var contactKind: String?
    var contactValue: String?
    var type: String?
    var timestampMs: Int64
    var identityType: String?
    var sourceType: String?
    var payload: String
    var receivedMs: Int64

    var event: StoredEvent {
        var contact: ContactReference?
        if let kind = contactKind.flatMap(ContactKind.init(rawValue:)), let contactValue {
            contact = ContactReference(kind: kind, value: contactValue)
        }
        return StoredEvent(
            seq: seq, id: id, contact: contact, type: type, timestampMs: timestampMs, identityType: identityType,
            sourceType: sourceType, payload: payload, receivedMs: receivedMs)
    }
}
