import Synchronization

/// Cluster time: the clock of the database the instances share (PostgreSQL), in which leases
/// (`lease_until_ms`), heartbeats and the shared 429 pause (`rate_limited_until_ms`) are written
/// and compared, so that hosts whose clocks disagree still agree on when a lease ends or a pause
/// is over.
///
/// Each heartbeat reads the server's `clock_timestamp()` (`ClusterShare.databaseNowMs`); the
/// offset from the local clock is that reading less the midpoint of the heartbeat's round trip,
/// so it is off by at most half of one heartbeat's duration. Until the first heartbeat measured
/// it, cluster time is the local clock (`isSynchronized` says which); one store of one process
/// (SQLite) never measures it.
final class ClusterClock: Sendable {
    private let offsetMs = Mutex<Int64?>(nil)
    let wallNowMs: @Sendable () -> Int64

    init(wallNowMs: @escaping @Sendable () -> Int64) {
        self.wallNowMs = wallNowMs
    }

    /// The cluster's time now.
    func nowMs() -> Int64 { clusterMs(localMs: wallNowMs()) }

    /// Whether a heartbeat measured the database's clock yet.
    var isSynchronized: Bool { offsetMs.withLock { $0 != nil } }

    /// How far the database's clock is ahead of the local one (0 until measured).
    var skewMs: Int64 { offsetMs.withLock { $0 ?? 0 } }

    /// The database read `databaseNowMs` during a heartbeat sent at local `sentMs` and answered
    /// at local `answeredMs`.
    func measured(databaseNowMs: Int64, sentMs: Int64, answeredMs: Int64) {
        let offset = databaseNowMs - (sentMs + (answeredMs - sentMs) / 2)
        offsetMs.withLock { $0 = offset }
    }

    func clusterMs(localMs: Int64) -> Int64 { localMs + skewMs }

    func localMs(clusterMs: Int64) -> Int64 { clusterMs - skewMs }
}
