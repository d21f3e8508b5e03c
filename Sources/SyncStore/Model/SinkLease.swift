/// Which instance delivers a sink, when several daemons share a database (PostgreSQL):
/// `sink_cursors.lease_owner` and `lease_until_ms`, with the owner's host and pid from
/// `instances` while it heartbeats there.
public struct SinkLease: Sendable, Hashable {
    /// The holder's ``StoreInstance/id``.
    public var owner: String
    /// The holder's host and pid; `nil` when it has no row in `instances`.
    public var host: String?
    public var pid: Int64?
    /// Until when the holder has the sink unless it renews; past it, another instance takes over.
    public var untilMs: Int64

    public init(owner: String, host: String? = nil, pid: Int64? = nil, untilMs: Int64) {
        self.owner = owner
        self.host = host
        self.pid = pid
        self.untilMs = untilMs
    }

    /// Whether the lease is still the holder's at `now`.
    public func isLive(now: Int64) -> Bool { untilMs > now }
}
