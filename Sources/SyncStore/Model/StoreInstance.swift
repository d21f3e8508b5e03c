/// A daemon process sharing a database with others: what it writes into `instances` on each
/// heartbeat, and the name its contact leases carry (`contacts.lease_owner`).
public struct StoreInstance: Sendable, Hashable {
    /// Unique per process run (a UUID made at start).
    public var id: String
    /// The machine's host name.
    public var host: String
    public var pid: Int64
    public var startedMs: Int64

    public init(id: String, host: String, pid: Int64, startedMs: Int64) {
        self.id = id
        self.host = host
        self.pid = pid
        self.startedMs = startedMs
    }
}

/// A row of `instances` as `np6-sync status` shows it.
public struct InstanceStatus: Sendable, Hashable {
    public var instance: StoreInstance
    public var lastHeartbeatMs: Int64
    /// Contacts whose lease it holds and that have not expired: its polls in flight.
    public var leases: Int

    public init(instance: StoreInstance, lastHeartbeatMs: Int64, leases: Int) {
        self.instance = instance
        self.lastHeartbeatMs = lastHeartbeatMs
        self.leases = leases
    }
}
