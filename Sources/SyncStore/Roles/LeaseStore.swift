/// Leases, for a database that several daemons share (PostgreSQL): each contact is polled, and
/// each sink delivered, by one instance at a time, and the instances share the API's limit.
///
/// Only such a store adopts it; the engine leases when its store does (``InstanceLease``). A
/// store that one process uses at a time (SQLite) does not: its scheduler reads
/// ``ScheduleStore/dueContacts(nowMs:limit:excluding:)`` and its sinks deliver unfenced.
public protocol LeaseStore: Sendable {
    /// Claims for `instance` the enabled contacts due at `nowMs` that no instance holds a live
    /// lease on, oldest due first, skipping `excluding`: each claimed contact is leased to
    /// `instance` until `leaseUntilMs` with a new lease token (``StoredContact/leaseToken``),
    /// which fences the poll's writes (``PollTarget``). Several daemons on one database claim
    /// concurrently and never get the same contact while its lease lives.
    func claimDueContacts(
        nowMs: Int64, limit: Int, excluding: Set<Int64>, for instance: StoreInstance, leaseUntilMs: Int64
    ) async throws -> [StoredContact]

    /// Records that `instance` is alive at `nowMs` (`instances`), and until when the API told it
    /// to pause (`rateLimitedUntilMs`, after a 429), and extends until `leaseUntilMs` its leases
    /// on `renewing` (its polls in flight) that no one took over.
    /// - Returns: how many instances have heartbeated since `liveSinceMs` (this one included):
    ///   the cluster's size, which shares the API's rate limit; the latest pause one of them
    ///   recorded that is still ahead of `nowMs`; which leases it renewed; and the database's
    ///   clock, the cluster's time.
    func heartbeat(
        _ instance: StoreInstance, nowMs: Int64, renewing: Set<Int64>, leaseUntilMs: Int64, liveSinceMs: Int64,
        rateLimitedUntilMs: Int64?
    ) async throws -> ClusterShare

    /// On a graceful stop: gives up `instance`'s leases, so that others poll its contacts at
    /// once, and removes it from `instances`.
    func releaseLeases(of instance: StoreInstance) async throws

    /// Gives up `instance`'s leases on contacts that it claimed without polling them (the
    /// daemon's start-up API check), so that they are polled at once rather than after the lease.
    /// Each is given up only while its lease is still the one claimed (`PollTarget.leaseToken`):
    /// one that expired and was claimed again, by another instance or this one, stays.
    func releaseLeases(_ claims: [PollTarget], of instance: StoreInstance) async throws

    /// Claims for `instance`, or renews, the lease of a sink's delivery until `leaseUntilMs`, so
    /// that several daemons on one database deliver each sink from one instance at a time. It
    /// is granted when no instance holds it, when its holder let it expire (`lease_until_ms` at
    /// or before `nowMs`: a dead or paused instance), or when `instance` holds it already.
    /// - Returns: the lease token, which fences the holder's cursor writes (the `fencedBy`
    ///   parameters of ``SinkCursorStore``): the same for as long as `instance` keeps the lease,
    ///   a new one each time an instance takes it. `nil` when another instance holds a live
    ///   lease, or the sink has no cursor.
    func claimSinkLease(
        _ sink: String, for instance: StoreInstance, nowMs: Int64, leaseUntilMs: Int64
    ) async throws -> Int64?

    /// On a graceful stop: gives up `instance`'s lease on the sink, so that another instance
    /// delivers it at once rather than after the lease. A lease another instance took is kept.
    func releaseSinkLease(_ sink: String, of instance: StoreInstance) async throws
}
