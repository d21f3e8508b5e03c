import NP6Client
import SyncStore

extension StoredEvent {
    /// The record every consumer sees for an event:
    /// `{"seq": …, "contact": {"kind": …, "value": …}, "event": <the stored JSON, verbatim>}`.
    public var recordJSON: String {
        let contactJSON = contact.map {
            "{\"kind\":\(JSONText.quoted($0.kind.rawValue)),\"value\":\(JSONText.quoted($0.value))}"
        } ?? "null"
        return "{\"seq\":\(seq),\"contact\":\(contactJSON),\"event\":\(payload)}"
    }
}
