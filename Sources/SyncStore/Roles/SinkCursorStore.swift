/// What a sink's delivery loop reads and writes: its durable cursor, the events after it, its
/// state and the events its receiver rejected (see ``EventStore``).
///
/// The `fencedBy` token is the sink's lease (``LeaseStore/claimSinkLease(_:for:nowMs:leaseUntilMs:)``)
/// where several daemons share the database; `nil` where one process delivers every sink.
public protocol SinkCursorStore: Sendable {
    /// The database's identity: a UUID (lower-case text) made with the schema, the same for as
    /// long as the database lives and different for every database created. Webhook idempotency
    /// keys include it, so that a database created again never reuses an earlier one's keys.
    func databaseID() async throws -> String

    /// Creates the cursor of a sink seen for the first time, once: at 0, or with
    /// `startingAfterLatest` at the latest stored event. An existing cursor is kept.
    @discardableResult
    func createSinkCursor(_ sink: String, startingAfterLatest: Bool, now: Int64) async throws -> SinkCursor

    /// The sink's cursor; `nil` for a sink that has never run.
    func sinkCursor(_ sink: String) async throws -> SinkCursor?

    /// The sink's cursor and up to `limit` events after it, in `seq` order, read together;
    /// `nil` when the sink has no cursor.
    func pendingBatch(for sink: String, limit: Int) async throws -> (cursor: SinkCursor, events: [StoredEvent])?

    /// Records that the sink acknowledged every event up to `seq`, and marks it running. Writes
    /// nothing when the cursor is no longer at `expectedSeq` (a replay moved it: the replay wins),
    /// nor, with `leaseToken`, when the sink's lease is no longer that one (another instance took
    /// the sink over: the cursor is its own).
    /// - Returns: whether the cursor moved.
    @discardableResult
    func advanceSinkCursor(
        _ sink: String, from expectedSeq: Int64, to seq: Int64, now: Int64, fencedBy leaseToken: Int64?
    ) async throws -> Bool

    /// Records a failed delivery: `failing` (retried with backoff) or `stopped` (rejected for good).
    /// With `leaseToken`, only while the sink's lease is that one.
    func recordSinkFailure(
        _ sink: String, state: SinkState, error: String, now: Int64, fencedBy leaseToken: Int64?
    ) async throws

    /// Marks a sink running again; its last error stays visible until a delivery succeeds. With
    /// `leaseToken`, only while the sink's lease is that one.
    func recordSinkRunning(_ sink: String, now: Int64, fencedBy leaseToken: Int64?) async throws

    /// Sets an event aside as rejected by the sink's receiver and moves the cursor past it, in
    /// one transaction. The event must be the one right after `expectedSeq`. With `leaseToken`,
    /// fenced as ``advanceSinkCursor(_:from:to:now:fencedBy:)`` is.
    /// - Returns: whether the cursor moved (and the dead letter was recorded).
    @discardableResult
    func recordDeadLetter(
        _ sink: String, event: StoredEvent, answer: String, advancingCursorFrom expectedSeq: Int64, now: Int64,
        fencedBy leaseToken: Int64?
    ) async throws -> Bool
}

extension SinkCursorStore {
    /// Advances a sink's cursor without a lease (one process, the one-shot commands).
    @discardableResult
    public func advanceSinkCursor(
        _ sink: String, from expectedSeq: Int64, to seq: Int64, now: Int64
    ) async throws
        -> Bool
    {
        try await advanceSinkCursor(sink, from: expectedSeq, to: seq, now: now, fencedBy: nil)
    }

    /// Records a failed delivery without a lease.
    public func recordSinkFailure(_ sink: String, state: SinkState, error: String, now: Int64) async throws {
        try await recordSinkFailure(sink, state: state, error: error, now: now, fencedBy: nil)
    }

    /// Marks a sink running again without a lease.
    public func recordSinkRunning(_ sink: String, now: Int64) async throws {
        try await recordSinkRunning(sink, now: now, fencedBy: nil)
    }

    /// Records a dead letter without a lease.
    @discardableResult
    public func recordDeadLetter(
        _ sink: String, event: StoredEvent, answer: String, advancingCursorFrom expectedSeq: Int64, now: Int64
    ) async throws -> Bool {
        try await recordDeadLetter(
            sink, event: event, answer: answer, advancingCursorFrom: expectedSeq, now: now, fencedBy: nil)
    }
}
