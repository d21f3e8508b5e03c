/// What a poll writes: its events, watermark and outcome, through the store's write queue, and
/// the totals of a pass (see ``EventStore``).
public protocol PollWriteStore: Sendable {
    /// Queues one of a poll's writes; an implementation may commit several polls' writes in one
    /// transaction, but applies a group's writes in order and refuses the rest once one failed.
    /// Waits only while the store's queue is full; `group.committed()` tells when it is stored.
    func submit(_ write: PollWrite, for group: PollWriteGroup) async

    /// Returns once every write submitted before the call is committed (or has failed).
    func flushWrites() async

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

    /// Records the totals of a `sync` invocation or daemon cycle.
    func recordRun(_ run: SyncRunSummary) async throws
}

extension PollWriteStore {
    /// Submits one write and waits until it is committed: the pollers' path, for a single write.
    @discardableResult
    public func write(_ write: PollWrite) async throws -> InsertCounts {
        let group = PollWriteGroup()
        await submit(write, for: group)
        await flushWrites()
        return try await group.committed()
    }
}
