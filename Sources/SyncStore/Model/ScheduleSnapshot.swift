/// What the daemon's one-line status and capacity check need, counted in one read.
public struct ScheduleSnapshot: Sendable, Hashable {
    public var enabledContacts = 0
    public var dueContacts = 0
    public var failingContacts = 0
    /// Stored events stamped since `dayStartMs` (served by the `events_timestamp` index).
    public var eventsToday = 0
    /// The enabled contact furthest behind; `nil` when none has completed a poll.
    public var oldestWatermarkMs: Int64?

    public init() {}
}
