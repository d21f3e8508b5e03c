import SyncStore

/// Leases, for the one process that uses a SQLite file: nothing to share, so nothing to lease.
///
/// Several daemons share contacts by lease only on PostgreSQL. A SQLite database is written by
/// one daemon at a time (its file lives on one machine), so a claim is the plain due-contacts
/// read, its contacts carry no lease token (their writes are fenced by the generation alone,
/// as before), a heartbeat records nothing and counts one instance (which shares its rate limit
/// with no one), and there is no `instances` table (`status` lists none). A sink's lease is
/// granted always, with token 0, and its cursor writes are fenced by nothing but the expected
/// cursor.
extension SQLiteEventStore {
    /// ``dueContacts(nowMs:limit:excluding:)``: one process, no leases.
    public func claimDueContacts(
        nowMs: Int64, limit: Int, excluding: Set<Int64>, for instance: StoreInstance, leaseUntilMs: Int64
    ) async throws -> [StoredContact] {
        try await dueContacts(nowMs: nowMs, limit: limit, excluding: excluding)
    }

    /// Nothing to record: the one process is the only instance, and its own pauses are known to it.
    public func heartbeat(
        _ instance: StoreInstance, nowMs: Int64, renewing: Set<Int64>, leaseUntilMs: Int64, liveSinceMs: Int64,
        rateLimitedUntilMs: Int64?
    ) async throws -> ClusterShare {
        ClusterShare(liveInstances: 1)
    }

    /// Nothing to release.
    public func releaseLeases(of instance: StoreInstance) async throws {}

    /// Nothing to release.
    public func releaseLeases(_ claims: [PollTarget], of instance: StoreInstance) async throws {}

    /// Granted, with token 0: the one process is the only instance that delivers.
    public func claimSinkLease(
        _ sink: String, for instance: StoreInstance, nowMs: Int64, leaseUntilMs: Int64
    ) async throws -> Int64? {
        0
    }

    /// Nothing to release.
    public func releaseSinkLease(_ sink: String, of instance: StoreInstance) async throws {}
}
