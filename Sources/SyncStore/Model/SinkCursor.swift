/// A row of `sink_cursors`: where a sink is in the event stream and how its delivery is going.
public struct SinkCursor: Sendable, Hashable {
    public var sink: String
    /// Every event with `seq <= deliveredSeq` has been acknowledged by the sink.
    public var deliveredSeq: Int64
    /// `nil` for a state this build does not know (written by hand or by a newer version).
    public var state: SinkState?
    public var lastError: String?
    public var lastAttemptMs: Int64?
    public var lastSuccessMs: Int64?
    public var consecutiveFailures: Int
    public var updatedMs: Int64?
    /// Counts the sink's deliveries of the event stream: 1 at first, one more on each
    /// `sinks replay`. Part of each batch's idempotency key, so that a replayed batch is a new
    /// delivery to the receiver while a retried one is the same.
    public var deliveryGeneration: Int64

    public init(
        sink: String, deliveredSeq: Int64, state: SinkState?, lastError: String? = nil, lastAttemptMs: Int64? = nil,
        lastSuccessMs: Int64? = nil, consecutiveFailures: Int = 0, updatedMs: Int64? = nil,
        deliveryGeneration: Int64 = 1
    ) {
        self.sink = sink
        self.deliveredSeq = deliveredSeq
        self.state = state
        self.lastError = lastError
        self.lastAttemptMs = lastAttemptMs
        self.lastSuccessMs = lastSuccessMs
        self.consecutiveFailures = consecutiveFailures
        self.updatedMs = updatedMs
        self.deliveryGeneration = deliveryGeneration
    }
}
