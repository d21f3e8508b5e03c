import Logging
import PostgresNIO
import SyncStore

/// Several daemons on one database: contacts claimed with leases, instances heartbeating and
/// sharing the API's rate limit.
///
/// A claim takes due contacts whose lease is free or expired with `FOR UPDATE SKIP LOCKED`, so
/// concurrent claims never take the same row, and gives each a new `lease_token`; the poll's
/// writes are fenced by it (`PostgresPollWriteCommitter`). The owner renews the leases of its
/// polls in flight on each heartbeat and gives a lease up with the poll's last write. A daemon
/// that dies renews nothing: once `lease_until_ms` passes, the others claim its contacts, and
/// its late writes (a paused process resuming) store their events but no longer move the row.
/// Sinks are leased the same way, one `sink_cursors` row each, their cursor writes fenced by
/// the row's `lease_token` (`PostgresEventStore+Sinks`).
extension PostgresEventStore {
    /// Claims due contacts for `instance` until `leaseUntilMs` (see `EventStore`).
    public func claimDueContacts(
        nowMs: Int64, limit: Int, excluding: Set<Int64>, for instance: StoreInstance, leaseUntilMs: Int64
    ) async throws -> [StoredContact] {
        guard limit > 0 else { return [] }
        return try await writing { connection in
            let rows = try await connection.query(
                """
                WITH due AS (
                    SELECT id AS claimed FROM contacts
                    WHERE enabled = 1 AND next_due_ms <= \(nowMs)
                        AND (lease_until_ms IS NULL OR lease_until_ms <= \(nowMs))
                        AND NOT (id = ANY(\(Array(excluding))::bigint[]))
                    ORDER BY next_due_ms, id LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE contacts SET lease_owner = \(instance.id), lease_until_ms = \(leaseUntilMs),
                    lease_token = lease_token + 1
                FROM due WHERE id = due.claimed
                RETURNING \(unescaped: ContactRow.columns), lease_token
                """, logger: logger)
            var contacts: [StoredContact] = []
            for try await row in rows {
                guard var contact = try ContactRow.decode(row) else { continue }
                contact.leaseToken = try row.makeRandomAccess()["lease_token"].decode(Int64.self)
                contacts.append(contact)
            }
            return contacts.sorted { ($0.nextDueMs, $0.id) < ($1.nextDueMs, $1.id) }
        }
    }

    /// Upserts `instance`'s row (with the pause the API imposed on it, if any), renews its leases
    /// on `renewing`, forgets instances silent for a day, and reads the cluster's share: the
    /// instances heard from since `liveSinceMs`, this one's rank among them, and the latest pause
    /// among them still ahead.
    public func heartbeat(
        _ instance: StoreInstance, nowMs: Int64, renewing: Set<Int64>, leaseUntilMs: Int64, liveSinceMs: Int64,
        rateLimitedUntilMs: Int64?
    ) async throws -> ClusterShare {
        try await writing { connection in
            try await connection.run(
                """
                INSERT INTO instances (id, host, pid, started_ms, heartbeat_ms, rate_limited_until_ms)
                VALUES (\(instance.id), \(instance.host), \(instance.pid), \(instance.startedMs), \(nowMs),
                    \(rateLimitedUntilMs))
                ON CONFLICT (id) DO UPDATE SET heartbeat_ms = EXCLUDED.heartbeat_ms,
                    rate_limited_until_ms = EXCLUDED.rate_limited_until_ms
                """, logger: logger)
            var renewed = Set<Int64>()
            if !renewing.isEmpty {
                // Only leases still its own: one taken over after it expired stays the new holder's.
                // A row a poll's commit holds is skipped, never waited for: that commit locks its
                // contacts in its own order, and waiting here could deadlock with it (the next
                // heartbeat, a second later, renews it, or the poll's last write freed it).
                let rows = try await connection.query(
                    """
                    UPDATE contacts SET lease_until_ms = \(leaseUntilMs)
                    WHERE id IN (
                        SELECT id FROM contacts
                        WHERE lease_owner = \(instance.id) AND id = ANY(\(Array(renewing))::bigint[])
                        FOR UPDATE SKIP LOCKED)
                    RETURNING id
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) { renewed.insert(id) }
            }
            try await connection.run(
                "DELETE FROM instances WHERE heartbeat_ms < \(nowMs - Self.forgottenAfterMs)", logger: logger)
            let rows = try await connection.query(
                """
                SELECT count(*), count(*) FILTER (WHERE id < \(instance.id)),
                    max(rate_limited_until_ms) FILTER (WHERE rate_limited_until_ms > \(nowMs)),
                    (extract(epoch FROM clock_timestamp()) * 1000)::bigint
                FROM instances WHERE heartbeat_ms >= \(liveSinceMs)
                """, logger: logger)
            for try await (live, rank, pausedUntil, databaseNow) in rows.decode((Int, Int, Int64?, Int64).self) {
                return ClusterShare(
                    liveInstances: live, rank: rank, rateLimitedUntilMs: pausedUntil, renewed: renewed,
                    databaseNowMs: databaseNow)
            }
            return ClusterShare(liveInstances: 1, renewed: renewed)
        }
    }

    /// Frees `instance`'s leases and removes its row, in one transaction.
    public func releaseLeases(of instance: StoreInstance) async throws {
        try await writing { connection in
            try await connection.run(
                "UPDATE contacts SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner = \(instance.id)",
                logger: logger)
            try await connection.run("DELETE FROM instances WHERE id = \(instance.id)", logger: logger)
        }
    }

    /// Claims or renews the sink's lease for `instance` until `leaseUntilMs` (see `EventStore`).
    ///
    /// One row lock decides between instances claiming at once: the second re-reads the row the
    /// first wrote and finds a live lease. Taking the lease (free, or expired: its holder died or
    /// paused) gives a new `lease_token`, which fences the cursor writes; renewing keeps it.
    public func claimSinkLease(
        _ sink: String, for instance: StoreInstance, nowMs: Int64, leaseUntilMs: Int64
    ) async throws -> Int64? {
        try await writing { connection in
            try await connection.query(
                """
                UPDATE sink_cursors SET lease_until_ms = \(leaseUntilMs),
                    lease_token = CASE WHEN lease_owner = \(instance.id) THEN lease_token ELSE lease_token + 1 END,
                    lease_owner = \(instance.id)
                WHERE sink = \(sink)
                    AND (lease_owner IS NULL OR lease_owner = \(instance.id) OR lease_until_ms IS NULL
                        OR lease_until_ms <= \(nowMs))
                RETURNING lease_token
                """, logger: logger
            ).collect().first?.decode(Int64.self)
        }
    }

    /// Frees the sink's lease if `instance` still holds it; the token stays, the next holder's is new.
    public func releaseSinkLease(_ sink: String, of instance: StoreInstance) async throws {
        try await writing { connection in
            try await connection.run(
                """
                UPDATE sink_cursors SET lease_owner = NULL, lease_until_ms = NULL
                WHERE sink = \(sink) AND lease_owner = \(instance.id)
                """, logger: logger)
        }
    }

    /// Frees `instance`'s leases on the claimed contacts, each while its token is the claim's: a
    /// lease claimed again since (by another instance, or by this one's scheduler) stays.
    public func releaseLeases(_ claims: [PollTarget], of instance: StoreInstance) async throws {
        let claims = claims.filter { $0.leaseToken != nil }
        guard !claims.isEmpty else { return }
        try await writing { connection in
            try await connection.run(
                """
                UPDATE contacts SET lease_owner = NULL, lease_until_ms = NULL
                FROM unnest(\(claims.map(\.id))::bigint[], \(claims.map { $0.leaseToken ?? 0 })::bigint[])
                    AS claim (id, token)
                WHERE contacts.id = claim.id AND contacts.lease_token = claim.token
                    AND contacts.lease_owner = \(instance.id)
                """, logger: logger)
        }
    }

    /// An instance not heard from for this long is removed from `instances` (a day).
    static var forgottenAfterMs: Int64 { 86_400_000 }

    /// The `instances` rows, latest heartbeat first, with the live leases each holds at `now`.
    static func instances(
        now: Int64, _ connection: PostgresConnection, logger: Logger
    ) async throws
        -> [InstanceStatus]
    {
        let rows = try await connection.query(
            """
            SELECT i.id, i.host, i.pid, i.started_ms, i.heartbeat_ms,
                (SELECT count(*) FROM contacts c WHERE c.lease_owner = i.id AND c.lease_until_ms > \(now))
            FROM instances i ORDER BY i.heartbeat_ms DESC, i.id
            """, logger: logger)
        var instances: [InstanceStatus] = []
        for try await (id, host, pid, started, heartbeat, leases) in rows.decode(
            (String, String, Int64, Int64, Int64, Int).self)
        {
            instances.append(
                InstanceStatus(
                    instance: StoreInstance(id: id, host: host, pid: pid, startedMs: started),
                    lastHeartbeatMs: heartbeat, leases: leases))
        }
        return instances
    }
}
