import NP6Model

/// What a poll's writes stored: how many elements were new, already stored, conflicting or
/// quarantined.
public struct InsertCounts: Sendable, Hashable {
    public var new = 0
    /// Already stored with the same payload.
    public var duplicate = 0
    /// Already stored with another payload, seen for the first time: the first copy stays in
    /// `events`, this one is kept in `event_conflicts` (see `conflicts`).
    public var conflicting = 0
    /// Malformed elements quarantined for the first time (a re-read one is not counted again).
    public var quarantined = 0
    /// The conflicts counted in `conflicting`, to be logged.
    public var conflicts: [EventConflict] = []
    /// Whether an operator's command changed the contact while the poll was in flight, or another
    /// instance took the contact over after this one's lease expired, so the poll's writes left
    /// its row as the command or the new holder set it (its events are stored all the same).
    public var supersededByOperator = false

    public init(new: Int = 0, duplicate: Int = 0, conflicting: Int = 0, quarantined: Int = 0) {
        self.new = new
        self.duplicate = duplicate
        self.conflicting = conflicting
        self.quarantined = quarantined
    }

    public static func += (lhs: inout InsertCounts, rhs: InsertCounts) {
        lhs.new += rhs.new
        lhs.duplicate += rhs.duplicate
        lhs.conflicting += rhs.conflicting
        lhs.quarantined += rhs.quarantined
        lhs.conflicts += rhs.conflicts
        lhs.supersededByOperator = lhs.supersededByOperator || rhs.supersededByOperator
    }
}

/// An event id stored once and then seen again with a different payload.
public struct EventConflict: Sendable, Hashable {
    public var eventID: String
    /// The contact whose poll stored the first copy; `nil` when it is unknown.
    public var storedFor: ContactReference?

    public init(eventID: String, storedFor: ContactReference?) {
        self.eventID = eventID
        self.storedFor = storedFor
    }
}
