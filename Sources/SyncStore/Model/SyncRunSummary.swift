/// The totals of one `sync` invocation or daemon cycle: a row of `sync_runs`. `Decodable` so that
/// a store reads its row by column name (its properties are the columns, in camel case).
public struct SyncRunSummary: Sendable, Hashable, Decodable {
    public var kind: String
    public var startedMs: Int64
    public var finishedMs: Int64
    public var contactsPolled = 0
    public var contactsFailed = 0
    public var requests = 0
    public var eventsNew = 0
    public var eventsDuplicate = 0
    /// Event ids seen again with another payload (kept in `event_conflicts`).
    public var eventsConflicting = 0
    public var eventsQuarantined = 0
    /// Why the run stopped early, if it did (e.g. the key was refused).
    public var error: String?

    public init(kind: String, startedMs: Int64, finishedMs: Int64) {
        self.kind = kind
        self.startedMs = startedMs
        self.finishedMs = finishedMs
    }
}
