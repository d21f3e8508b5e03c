import Synchronization

/// The writes of one poll, queued for group commit. They are applied in the order they were
/// submitted, and once one fails the rest are refused: a later checkpoint never moves the
/// watermark past events that were not stored.
public final class PollWriteGroup: Sendable {
    private struct State {
        var outstanding = 0
        var counts = InsertCounts()
        var error: (any Error)?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// What the writes stored, once every write submitted so far is committed; throws the first
    /// write's error if one failed. Waiting ignores cancellation: commits come within
    /// the store's commit delay.
    public func committed() async throws -> InsertCounts {
        let (counts, error) = await settled()
        if let error { throw error }
        return counts
    }

    /// What the writes committed before one failed, and that failure (`nil` when none did),
    /// once every write submitted so far is committed or refused.
    public func settled() async -> (counts: InsertCounts, error: (any Error)?) {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.outstanding == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLock { state in (state.counts, state.error) }
    }

    /// Whether a write of the group failed; the store refuses the group's later writes.
    public var hasFailed: Bool { state.withLock { $0.error != nil } }

    /// Called by the store when it accepts a write of the group.
    public func submitted() { state.withLock { $0.outstanding += 1 } }

    /// Called by the store when a write of the group is committed or has failed.
    public func settle(_ result: Result<InsertCounts, any Error>) {
        state.withLock { state in
            state.outstanding -= 1
            switch result {
            case .success(let counts): state.counts += counts
            case .failure(let error): if state.error == nil { state.error = error }
            }
            if state.outstanding == 0 {
                for waiter in state.waiters { waiter.resume() }
                state.waiters = []
            }
        }
    }
}
