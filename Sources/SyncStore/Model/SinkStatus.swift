/// A sink's cursor with how far behind it is, for `np6-sync sinks status`.
public struct SinkStatus: Sendable, Hashable {
    public var cursor: SinkCursor
    /// Stored events the sink has not acknowledged yet.
    public var pendingEvents: Int
    /// When the oldest of them was stored; `nil` when the sink is caught up.
    public var oldestPendingReceivedMs: Int64?
    /// Events set aside as rejected and not re-sent successfully since.
    public var deadLetters: Int
    /// The instance that delivers the sink, or last did (PostgreSQL); `nil` when none holds its
    /// lease (one process, SQLite, or released on a graceful stop).
    public var lease: SinkLease?

    public init(
        cursor: SinkCursor, pendingEvents: Int, oldestPendingReceivedMs: Int64?, deadLetters: Int,
        lease: SinkLease? = nil
    ) {
        self.cursor = cursor
        self.pendingEvents = pendingEvents
        self.oldestPendingReceivedMs = oldestPendingReceivedMs
        self.deadLetters = deadLetters
        self.lease = lease
    }

    /// How long the oldest unacknowledged event has waited; 0 when the sink is caught up.
    public func lagMs(now: Int64) -> Int64 {
        oldestPendingReceivedMs.map { max(0, now - $0) } ?? 0
    }
}
