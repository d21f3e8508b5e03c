import NP6Model

/// Where np6-sync keeps contacts, events, watermarks and sink cursors: the one boundary between
/// the sync engine and a database.
///
/// The engine, the scheduler, the sink loops and the CLI see the store only through this
/// protocol; `SQLiteEventStore` (module SQLiteStore) implements it, and `SyncStoreTests` holds the
/// contract suite that every implementation must pass. Each method keeps its invariant in one
/// transaction. The central one, kept by ``submit(_:for:)``: every event with a timestamp below a
/// contact's watermark is stored, because a write moves the watermark in the same transaction as
/// the events that justify it.
///
/// Times (`now`, `…Ms`) are milliseconds since the epoch, the unit of watermarks.
public protocol EventStore: Sendable {
    /// Where the store lives, for messages (a file path; never a password).
    var location: String { get }

    /// The number of schema migrations applied.
    func schemaVersion() async throws -> Int

    /// The database's identity: a UUID (lower-case text) made with the schema, the same for as
    /// long as the database lives and different for every database created. Webhook idempotency
    /// keys include it, so that a database created again never reuses an earlier one's keys.
    func databaseID() async throws -> String

    // MARK: Contacts

    /// Adds the contacts that `produce` hands to `add`, one by one, in a single transaction: when
    /// `produce` throws, nothing is added. New contacts are due at once; removed ones are enabled
    /// again. `produce` may read a file as it goes, so a million contacts never sit in memory.
    /// - Returns: what was added, and what `produce` returned.
    func addContacts<Produced: Sendable>(
        now: Int64,
        _ produce: @escaping @Sendable (_ add: (ContactReference) throws -> Void) throws -> Produced
    ) async throws -> (added: AddedContacts, produced: Produced)

    /// Stops polling a contact. Its row stays, so that its stored events keep their contact;
    /// adding it again resumes from its watermark. Returns false when no such contact is enabled.
    func removeContact(_ reference: ContactReference) async throws -> Bool

    /// One contact by reference, enabled or not.
    func contact(_ reference: ContactReference) async throws -> StoredContact?

    /// A page of contacts in `id` order, after `afterID`.
    func contacts(afterID: Int64, limit: Int, enabledOnly: Bool) async throws -> [StoredContact]

    /// Sets a contact's watermark (`nil`: re-read from `sync.initialStart`) and makes it due now.
    /// Returns false for an unknown contact.
    func setWatermark(_ reference: ContactReference, to watermarkMs: Int64?, now: Int64) async throws -> Bool

    /// Makes enabled contacts due now (`contacts recheck`): those named, whatever their status.
    /// A contact due earlier keeps its place. Returns the references that are not enabled contacts.
    func recheckContacts(_ references: [ContactReference], now: Int64) async throws -> [ContactReference]

    /// Makes every enabled contact whose last poll was a 404 (`not_found`) due now, in one
    /// transaction. Returns how many.
    func recheckNotFoundContacts(now: Int64) async throws -> Int

    /// Repairs what a local clock that was ahead of the API's left behind, in one transaction.
    ///
    /// Every watermark later than `watermarksAfterMs` comes back to the latest timestamp stored
    /// for that contact (at most `toMs`), or to NULL (re-read from `sync.initialStart`) when it
    /// has none: the events before that timestamp were all known when it was stored, while the
    /// future watermark says nothing true. With `dueTimesAfterMs`, every next due time later than
    /// it (for a `not_found` contact: later than `notFoundDueTimesAfterMs`) becomes `toMs`.
    /// Returns how many contacts changed.
    func bringBackFutureTimes(
        watermarksAfterMs: Int64, dueTimesAfterMs: Int64?, notFoundDueTimesAfterMs: Int64?, toMs: Int64
    ) async throws -> Int

    // MARK: Polls

    /// Queues one of a poll's writes; an implementation may commit several polls' writes in one
    /// transaction, but applies a group's writes in order and refuses the rest once one failed.
    /// Waits only while the store's queue is full; `group.committed()` tells when it is stored.
    func submit(_ write: PollWrite, for group: PollWriteGroup) async

    /// Returns once every write submitted before the call is committed (or has failed).
    func flushWrites() async

    /// The enabled contacts due at `nowMs`, oldest due first, skipping `excluding` (polls in flight).
    func dueContacts(nowMs: Int64, limit: Int, excluding: Set<Int64>) async throws -> [StoredContact]

    /// Claims for `instance` the enabled contacts due at `nowMs` that no instance holds a live
    /// lease on, oldest due first, skipping `excluding`: each claimed contact is leased to
    /// `instance` until `leaseUntilMs` with a new lease token (``StoredContact/leaseToken``),
    /// which fences the poll's writes (``PollTarget``). Several daemons on one database claim
    /// concurrently and never get the same contact while its lease lives.
    ///
    /// A store that one process uses at a time (SQLite) needs no lease: it returns
    /// ``dueContacts(nowMs:limit:excluding:)`` with no token.
    func claimDueContacts(
        nowMs: Int64, limit: Int, excluding: Set<Int64>, for instance: StoreInstance, leaseUntilMs: Int64
    ) async throws -> [StoredContact]

    /// Records that `instance` is alive at `nowMs` (`instances`), and until when the API told it
    /// to pause (`rateLimitedUntilMs`, after a 429), and extends until `leaseUntilMs` its leases
    /// on `renewing` (its polls in flight) that no one took over.
    /// - Returns: how many instances have heartbeated since `liveSinceMs` (this one included):
    ///   the cluster's size, which shares the API's rate limit; the latest pause one of them
    ///   recorded that is still ahead of `nowMs`; which leases it renewed; and the database's
    ///   clock, the cluster's time (`nil` for a store of one process).
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

    /// When the next enabled contact falls due after `nowMs`; `nil` when none will.
    func nextDueMs(after nowMs: Int64) async throws -> Int64?

    /// Counts for the daemon's status line and its capacity check.
    func scheduleSnapshot(nowMs: Int64, dayStartMs: Int64) async throws -> ScheduleSnapshot

    /// Records the totals of a `sync` invocation or daemon cycle.
    func recordRun(_ run: SyncRunSummary) async throws

    // MARK: Events

    /// Calls `body` for each stored event matching the filter, in `seq` order, without loading
    /// them all. `body` runs on the store's reader, one event at a time.
    func forEachEvent(
        contact: ContactReference?,
        sinceMs: Int64?,
        limit: Int?,
        _ body: @escaping @Sendable (StoredEvent) throws -> Void
    ) async throws

    /// Every stored event id, for checks that compare the store with the API's data.
    func eventIDs() async throws -> Set<String>

    /// The quarantined elements, oldest first.
    func quarantinedElements() async throws -> [QuarantinedElement]

    /// Counts for `np6-sync status`; reads only.
    func status(now: Int64) async throws -> StoreStatus

    // MARK: Sinks

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
    /// the sink over: the cursor is its own; see ``claimSinkLease(_:for:nowMs:leaseUntilMs:)``).
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

    /// Claims for `instance`, or renews, the lease of a sink's delivery until `leaseUntilMs`, so
    /// that several daemons on one database deliver each sink from one instance at a time. It
    /// is granted when no instance holds it, when its holder let it expire (`lease_until_ms` at
    /// or before `nowMs`: a dead or paused instance), or when `instance` holds it already.
    ///
    /// A store that one process uses at a time (SQLite) grants it always, with token 0, and
    /// fences nothing.
    /// - Returns: the lease token, which fences the holder's cursor writes (the `fencedBy`
    ///   parameters): the same for as long as `instance` keeps the lease, a new one each time
    ///   an instance takes it. `nil` when another instance holds a live lease, or the sink has
    ///   no cursor.
    func claimSinkLease(
        _ sink: String, for instance: StoreInstance, nowMs: Int64, leaseUntilMs: Int64
    ) async throws -> Int64?

    /// On a graceful stop: gives up `instance`'s lease on the sink, so that another instance
    /// delivers it at once rather than after the lease. A lease another instance took is kept.
    func releaseSinkLease(_ sink: String, of instance: StoreInstance) async throws

    /// The events a sink set aside and has not re-sent successfully, in `seq` order.
    func pendingDeadLetters(for sink: String) async throws -> [DeadLetter]

    /// Records the outcome of re-sending a dead letter: acknowledged (`answer` nil) or rejected again.
    func recordDeadLetterResend(_ sink: String, seq: Int64, rejectedWith answer: String?, now: Int64) async throws

    /// Moves a sink's cursor back so that it delivers again every event from `seq` on, marks it
    /// running and starts a new delivery generation. A cursor already before that point stays;
    /// a sink that never ran gets one.
    func rewindSinkCursor(_ sink: String, toRedeliverFromSeq seq: Int64, now: Int64) async throws -> SinkRewind

    /// As ``rewindSinkCursor(_:toRedeliverFromSeq:now:)``, from the first event stamped or stored
    /// at or after `sinceMs`; with no such event the cursor stays (the sink still resumes).
    func rewindSinkCursor(_ sink: String, toRedeliverSinceMs sinceMs: Int64, now: Int64) async throws -> SinkRewind

    /// Starts a new delivery generation of the sink (``SinkCursor/deliveryGeneration``) and
    /// returns it; a sink that never ran gets its cursor (at 0) now. Both `rewindSinkCursor`
    /// methods do this too, in the same transaction: every `sinks replay` is a new delivery.
    @discardableResult
    func startDeliveryGeneration(_ sink: String, now: Int64) async throws -> Int64

    /// Every sink that has a cursor, by name, with its lag and dead letters; reads only.
    func sinkStatuses() async throws -> [SinkStatus]
}

extension EventStore {
    /// Adds contacts, or enables them again if they were removed; new ones are due at once.
    public func addContacts(_ references: [ContactReference], now: Int64) async throws -> AddedContacts {
        try await addContacts(now: now) { add in
            for reference in references { try add(reference) }
        }.added
    }

    /// Submits one write and waits until it is committed: the pollers' path, for a single write.
    @discardableResult
    public func write(_ write: PollWrite) async throws -> InsertCounts {
        let group = PollWriteGroup()
        await submit(write, for: group)
        await flushWrites()
        return try await group.committed()
    }

    public func contacts(limit: Int, enabledOnly: Bool) async throws -> [StoredContact] {
        try await contacts(afterID: 0, limit: limit, enabledOnly: enabledOnly)
    }

    /// Every stored event, in `seq` order.
    public func forEachEvent(_ body: @escaping @Sendable (StoredEvent) throws -> Void) async throws {
        try await forEachEvent(contact: nil, sinceMs: nil, limit: nil, body)
    }

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
