/// A row of `dead_letters`: an event a sink's receiver rejected for good, with its answer.
public struct DeadLetter: Sendable, Hashable {
    public var sink: String
    public var eventSeq: Int64
    public var eventID: String
    /// What the receiver said, e.g. `HTTP 400: {"error":"unknown contact"}`.
    public var answer: String
    public var recordedMs: Int64
    /// When a later re-send was acknowledged; `nil` while the event is still set aside.
    public var resentMs: Int64?
    /// The event itself; `nil` if its row was deleted by hand.
    public var event: StoredEvent?

    public init(
        sink: String, eventSeq: Int64, eventID: String, answer: String, recordedMs: Int64, resentMs: Int64?,
        event: StoredEvent?
    ) {
        self.sink = sink
        self.eventSeq = eventSeq
        self.eventID = eventID
        self.answer = answer
        self.recordedMs = recordedMs
        self.resentMs = resentMs
        self.event = event
    }
}
