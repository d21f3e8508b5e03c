import Config
import NP6Model
import SyncStore

extension StoredEvent {
    /// The record every consumer sees for an event:
    /// `{"seq": …, "contact": {"kind": …, "value": …}, "event": <the stored JSON>}`, on one line.
    ///
    /// The event is the stored JSON with the whitespace outside its strings removed
    /// (``NP6Model/JSONText/minified(_:)``): NP6 may pretty-print an event over several lines,
    /// which is legal JSON but would break a JSON-lines file; its escapes, number text and key
    /// order stay as received. The database keeps the payload byte for byte. Every sink gets
    /// this record, the webhook too.
    ///
    /// Written by hand, the one place np6-sync splices raw JSON: `JSONEncoder` cannot embed the
    /// stored bytes as they are (re-encoding would change escapes and number text), and this
    /// runs once per delivered event.
    public var recordJSON: String {
        let contactJSON =
            contact.map {
                "{\"kind\":\(JSONText.quoted($0.kind.rawValue)),\"value\":\(JSONText.quoted($0.value))}"
            } ?? "null"
        return "{\"seq\":\(seq),\"contact\":\(contactJSON),\"event\":\(JSONText.minified(payload))}"
    }
}

extension Collection where Element == StoredEvent {
    /// The records as JSON lines, each ending with a line feed: what the `jsonl` and `command`
    /// sinks write.
    public var recordLines: [UInt8] {
        var bytes: [UInt8] = []
        for event in self {
            bytes += event.recordJSON.utf8
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }
}
