/// A summary of the database for `np6-sync status`.
public struct StoreStatus: Sendable, Hashable {
    public var contacts = 0
    public var enabledContacts = 0
    /// Enabled contacts by `last_status`; the key `never` counts those not polled yet.
    public var contactsByStatus: [String: Int] = [:]
    /// The enabled contact furthest behind; `nil` when none has completed a poll.
    public var oldestWatermarkMs: Int64?
    public var neverSynced = 0
    /// Watermarks of the synced enabled contacts at the median and the 95th percentile
    /// (`now - watermark` is a contact's lag).
    public var medianWatermarkMs: Int64?
    public var p95LagWatermarkMs: Int64?
    /// Enabled contacts whose last poll failed, most failures first (at most 20).
    public var failing: [StoredContact] = []
    public var events = 0
    public var eventsLastDay = 0
    public var lastEventReceivedMs: Int64?
    public var quarantined = 0
    public var lastRun: SyncRunSummary?
    /// The daemons heartbeating into the database (PostgreSQL), latest heartbeat first; empty
    /// for a store used by one process (SQLite).
    public var instances: [InstanceStatus] = []

    public init() {}
}
