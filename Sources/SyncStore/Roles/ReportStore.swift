import NP6Model

/// What `status`, `sinks status`, `events`, `check-config` and the daemon's status line read;
/// reads only (see ``EventStore``).
public protocol ReportStore: Sendable {
    /// The last schema step applied (``SchemaStep``).
    func schemaVersion() async throws -> Int

    /// Counts for `np6-sync status`.
    func status(now: Int64) async throws -> StoreStatus

    /// Counts for the daemon's status line and its capacity check.
    func scheduleSnapshot(nowMs: Int64, dayStartMs: Int64) async throws -> ScheduleSnapshot

    /// Every sink that has a cursor, by name, with its lag and dead letters.
    func sinkStatuses() async throws -> [SinkStatus]

    /// Calls `body` for each stored event matching the filter, in `seq` order, without loading
    /// them all. `body` runs on the store's reader, one event at a time.
    func forEachEvent(
        contact: ContactReference?,
        sinceMs: Int64?,
        limit: Int?,
        _ body: @escaping @Sendable (StoredEvent) throws -> Void
    ) async throws
}

extension ReportStore {
    /// Every stored event, in `seq` order.
    public func forEachEvent(_ body: @escaping @Sendable (StoredEvent) throws -> Void) async throws {
        try await forEachEvent(contact: nil, sinceMs: nil, limit: nil, body)
    }
}
