import Logging
import SyncStore

/// What one poll did: its result and what it stored.
public struct PollOutcome: Sendable {
    public var result: PollResult
    public var counts = InsertCounts()
    public var requests = 0
    /// The body of some window was not sorted by timestamp (it was never checkpointed inside).
    public var sawUnsortedBody = false
}
