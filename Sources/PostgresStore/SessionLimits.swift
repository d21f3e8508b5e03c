/// How long a session of the store may wait, hold a transaction open, or run a statement, and
/// how soon the server notices a client that is gone: what keeps one frozen or cut-off daemon
/// from stalling the others (docs/RELIABILITY.md §12).
///
/// Every pooled connection sends these as startup parameters, so they hold from its first
/// statement, for every query of the store:
/// - `idle_in_transaction_session_timeout`: a session that holds a transaction open and sends
///   nothing (its process stopped with SIGSTOP, its VM paused) is ended by the server, which
///   rolls the transaction back and frees its locks (the advisory lock of the event inserts
///   among them).
/// - `lock_timeout`: a statement that waits that long for a lock fails with SQLSTATE 55P03, a
///   `busy` database error the daemon counts, logs and backs off from: never a silent wait.
/// - `statement_timeout` (the daemon only: `np6-sync events` may stream one long statement to
///   a slow reader): no statement outlives the lease it works under.
/// - `tcp_keepalives_*`: the server probes an idle link after 10 s, every 5 s, 3 times, so a
///   client whose link was cut is found out in about 25 s, not the hours of TCP's defaults.
public struct SessionLimits: Sendable, Hashable {
    public var idleInTransactionMs: Int64
    public var lockTimeoutMs: Int64
    /// `nil`: statements run as long as they need.
    public var statementTimeoutMs: Int64?
    public var keepalivesIdleSeconds = 10
    public var keepalivesIntervalSeconds = 5
    public var keepalivesCount = 3

    /// The limits for a cluster whose leases last `leaseSeconds` (`database.leaseSeconds`): a
    /// frozen holder of a lock is cut after a third of the lease, a commit waits for a lock at
    /// most a third of it, and, with `boundsStatements`, no statement runs longer than half of it,
    /// so a daemon that another one waits for is cut, and the waiter told, well before the
    /// contacts it holds fall to someone else.
    public init(leaseSeconds: Int, boundsStatements: Bool) {
        let leaseMs = Int64(leaseSeconds) * 1000
        idleInTransactionMs = max(1000, leaseMs / 3)
        lockTimeoutMs = max(1000, leaseMs / 3)
        statementTimeoutMs = boundsStatements ? max(2000, leaseMs / 2) : nil
    }

    /// The startup parameters that set them.
    public var startupParameters: [(String, String)] {
        var parameters = [
            ("idle_in_transaction_session_timeout", "\(idleInTransactionMs)"),
            ("lock_timeout", "\(lockTimeoutMs)"),
            ("tcp_keepalives_idle", "\(keepalivesIdleSeconds)"),
            ("tcp_keepalives_interval", "\(keepalivesIntervalSeconds)"),
            ("tcp_keepalives_count", "\(keepalivesCount)"),
        ]
        if let statementTimeoutMs { parameters.append(("statement_timeout", "\(statementTimeoutMs)")) }
        return parameters
    }
}
