import SyncStore

/// Where the delivery loops count what they do; the daemon's metrics implement it, so the sinks
/// do not depend on the engine's metrics.
public protocol SinkDeliveryMetrics: Sendable {
    /// `events` of the sink were acknowledged and its cursor moved past them.
    func recordSinkDelivered(sink: String, events: Int)
    /// A delivery attempt of the sink failed.
    func recordSinkFailure(sink: String)
    /// The database refused one of the loop's reads or writes; the loop backs off and retries.
    func recordDatabaseError(_ code: DatabaseErrorCode)
}
