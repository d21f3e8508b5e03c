import GRDB

/// How a sink's delivery loop last described itself, as stored in `sink_cursors.state`.
public enum SinkState: String, Sendable, Hashable, CaseIterable {
    /// Delivering, or caught up and waiting for new events.
    case running
    /// The last delivery failed with a transient error; the loop retries with backoff.
    case failing
    /// The receiver rejected a batch for good: nothing more is delivered until a reload or a replay.
    case stopped
}

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

    static let columns = """
        sink, delivered_seq, state, last_error, last_attempt_ms, last_success_ms, consecutive_failures, updated_ms
        """

    init(row: Row) {
        sink = row[0]
        deliveredSeq = row[1]
        state = (row[2] as String?).flatMap(SinkState.init(rawValue:))
        lastError = row[3]
        lastAttemptMs = row[4]
        lastSuccessMs = row[5]
        consecutiveFailures = row[6]
        updatedMs = row[7]
    }
}

/// A sink's cursor with how far behind it is, for `np6-sync sinks status`.
public struct SinkStatus: Sendable, Hashable {
    public var cursor: SinkCursor
    /// Stored events the sink has not acknowledged yet.
    public var pendingEvents: Int
    /// When the oldest of them was stored; `nil` when the sink is caught up.
    public var oldestPendingReceivedMs: Int64?
    /// Events set aside as rejected and not re-sent successfully since.
    public var deadLetters: Int

    /// How long the oldest unacknowledged event has waited; 0 when the sink is caught up.
    public func lagMs(now: Int64) -> Int64 {
        oldestPendingReceivedMs.map { max(0, now - $0) } ?? 0
    }
}

/// Where a replay moved a sink's cursor.
public struct SinkRewind: Sendable, Hashable {
    /// The cursor before; `nil` when the sink had none yet.
    public var previousSeq: Int64?
    /// The cursor now: the sink delivers the events after it again.
    public var deliveredSeq: Int64

    public init(previousSeq: Int64?, deliveredSeq: Int64) {
        self.previousSeq = previousSeq
        self.deliveredSeq = deliveredSeq
    }
}
