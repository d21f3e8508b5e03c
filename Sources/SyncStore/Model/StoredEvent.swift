import NP6Model

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

    public init(
        seq: Int64, id: String, contact: ContactReference?, type: String?, timestampMs: Int64, identityType: String?,
        sourceType: String?, payload: String, receivedMs: Int64
    ) {
        self.seq = seq
        self.id = id
        self.contact = contact
        self.type = type
        self.timestampMs = timestampMs
        self.identityType = identityType
        self.sourceType = sourceType
        self.payload = payload
        self.receivedMs = receivedMs
    }
}
