/// One stop event: the columns extracted for querying plus the element's JSON bytes exactly as received.
///
/// `EventDecoder` builds these from the elements of a response body; `payload` is what gets
/// stored, so fields the API adds later survive untouched.
public struct StopEvent: Sendable, Hashable {
    /// The event's identity (a UUID in the NP6 docs) in its stored form (`StoredText`: the JSON
    /// string itself unless it holds U+0000 or a lone surrogate, or begins with `"`); events are
    /// deduplicated on it.
    public var id: String
    /// Publication time in milliseconds since 1970-01-01T00:00:00Z.
    public var timestampMs: Int64
    /// The top-level `type` (e.g. `"stop"`) when it is a string.
    public var type: String?
    /// `identity.type` when `identity` is an object and its `type` a string.
    public var identityType: String?
    /// `source.type` (e.g. `"email"`) when `source` is an object and its `type` a string.
    public var sourceType: String?
    /// The element's bytes verbatim, surrounding whitespace trimmed.
    public var payload: [UInt8]

    public init(
        id: String,
        timestampMs: Int64,
        type: String?,
        identityType: String?,
        sourceType: String?,
        payload: [UInt8]
    ) {
        self.id = id
        self.timestampMs = timestampMs
        self.type = type
        self.identityType = identityType
        self.sourceType = sourceType
        self.payload = payload
    }
}
