/// A sink's cursor with how far behind it is, for `np6-sync sinks status`.
public struct SinkStatus: Sendable, Hashable {
    public var cursor: SinkCursor
    /// Stored events the sink has not acknowledged yet.
    public var pendingEvents: Int
    /// When the oldest of them was stored; `nil` when the sink is caught up.
    public var oldestPendingReceivedMs: Int64?
    /// Events set aside as rejected and not re-sent successfully since.
    public var deadLetters: Int

    public init(cursor: SinkCursor, pendingEvents: Int, oldestPendingReceivedMs: Int64?, deadLetters: Int) {
        self.cursor = cursor
        self.pendingEvents = pendingEvents
        self.oldestPendingReceivedMs = oldestPendingReceivedMs
        self.deadLetters = deadLetters
    }

    /// How long the oldest unacknowledged event has waited; 0 when the sink is caught up.
    public func lagMs(now: Int64) -> Int64 {
        oldestPendingReceivedMs.map { max(0, now - $0) } ?? 0
    }
}
