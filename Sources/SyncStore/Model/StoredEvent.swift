import GRDB
import NP6Client

/// A row of `events`, with the contact it was first received for.
public struct StoredEvent: Sendable, Hashable {
    /// Arrival order in this database; sinks' cursors count in it.
    public var seq: Int64
    public var id: String
    /// `nil` when the contact row was deleted by hand.
    public var contact: ContactReference?
    public var type: String?
    public var timestampMs: Int64
    public var identityType: String?
    public var sourceType: String?
    /// The event's JSON exactly as the API sent it.
    public var payload: String
    public var receivedMs: Int64

    static let selection = """
        SELECT e.seq, e.id, c.kind, c.value, e.type, e.timestamp_ms, e.identity_type, e.source_type,
               e.payload, e.received_ms
        FROM events e LEFT JOIN contacts c ON c.id = e.contact_id
        """

    init(row: Row) {
        seq = row[0]
        id = row[1]
        if let kind = (row[2] as String?).flatMap(ContactKind.init(rawValue:)), let value = row[3] as String? {
            contact = ContactReference(kind: kind, value: value)
        }
        type = row[4]
        timestampMs = row[5]
        identityType = row[6]
        sourceType = row[7]
        payload = row[8]
        receivedMs = row[9]
    }
}
