/// A stop event of the fake, as tests see it.
///
/// It is a view of the compact stored record: the id string and the JSON are rendered on demand,
/// so holding a million of them stays cheap.
public struct FakeEvent: Sendable, Hashable {
    /// The contact the event belongs to.
    public let contact: FakeContact
    let record: EventRecord

    init(contact: FakeContact, record: EventRecord) {
        self.contact = contact
        self.record = record
    }

    /// The NP6 id of the contact the event belongs to.
    public var contactID: String { contact.id }
    /// The event's UUID, lower-case, e.g. `84b10b69-6761-434f-be85-d56ddfaf0f20`.
    public var id: String { record.uuidString }
    /// Publication time in ms since 1970: the event's `timestamp` field.
    public var timestampMs: Int64 { record.timestampMs }
    /// When the event became visible through the API, in ms since 1970.
    public var arrivedMs: Int64 { record.arrivedMs }
    /// The event exactly as the API sends it (a well-formed element).
    public var json: String { EventJSON.string(record, of: contact) }
}
