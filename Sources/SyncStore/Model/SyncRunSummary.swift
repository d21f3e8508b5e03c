/// The totals of one `sync` invocation or daemon cycle: a row of `sync_runs`.
public struct SyncRunSummary: Sendable, Hashable {
    public var kind: String
    public var startedMs: Int64
    public var finishedMs: Int64
    public var contactsPolled = 0
    public var contactsFailed = 0
    public var requests = 0
    public var eventsNew = 0
    public var eventsDuplicate = 0
    public var eventsQuarantined = 0
    /// Why the run stopped early, if it did (e.g. the key was refused).
    public var error: String?

    public init(kind: String, startedMs: Int64, finishedMs: Int64) {
        self.kind = kind
        self.startedMs = startedMs
        self.finishedMs = finishedMs
    }
}

/// How many elements of a batch were new, already stored, or quarantined.
public struct InsertCounts: Sendable, Hashable {
    public var new = 0
    public var duplicate = 0
    public var quarantined = 0

    public init(new: Int = 0, duplicate: Int = 0, quarantined: Int = 0) {
        self.new = new
        self.duplicate = duplicate
        self.quarantined = quarantined
    }

    public static func += (lhs: inout InsertCounts, rhs: InsertCounts) {
        lhs.new += rhs.new
        lhs.duplicate += rhs.duplicate
        lhs.quarantined += rhs.quarantined
    }
}
