/// How a sink's delivery loop last described itself, as stored in `sink_cursors.state`.
public enum SinkState: String, Sendable, Hashable, CaseIterable {
    /// Delivering, or caught up and waiting for new events.
    case running
    /// The last delivery failed with a transient error; the loop retries with backoff.
    case failing
    /// The receiver rejected a batch for good: nothing more is delivered until a reload or a replay.
    case stopped
}
