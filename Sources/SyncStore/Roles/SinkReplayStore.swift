/// What `sinks replay` and the re-sending of dead letters change: a sink's cursor moved back,
/// its delivery generations, its dead letters (see ``EventStore``).
public protocol SinkReplayStore: Sendable {
    /// The events a sink set aside and has not re-sent successfully, in `seq` order.
    func pendingDeadLetters(for sink: String) async throws -> [DeadLetter]

    /// Records the outcome of re-sending a dead letter: acknowledged (`answer` nil) or rejected again.
    func recordDeadLetterResend(_ sink: String, seq: Int64, rejectedWith answer: String?, now: Int64) async throws

    /// Moves a sink's cursor back so that it delivers again every event from `seq` on, marks it
    /// running and starts a new delivery generation. A cursor already before that point stays;
    /// a sink that never ran gets one.
    func rewindSinkCursor(_ sink: String, toRedeliverFromSeq seq: Int64, now: Int64) async throws -> SinkRewind

    /// As ``rewindSinkCursor(_:toRedeliverFromSeq:now:)``, from the first event stamped or stored
    /// at or after `sinceMs`; with no such event the cursor stays (the sink still resumes).
    func rewindSinkCursor(_ sink: String, toRedeliverSinceMs sinceMs: Int64, now: Int64) async throws -> SinkRewind

    /// Starts a new delivery generation of the sink (``SinkCursor/deliveryGeneration``) and
    /// returns it; a sink that never ran gets its cursor (at 0) now. Both `rewindSinkCursor`
    /// methods do this too, in the same transaction: every `sinks replay` is a new delivery.
    @discardableResult
    func startDeliveryGeneration(_ sink: String, now: Int64) async throws -> Int64
}
