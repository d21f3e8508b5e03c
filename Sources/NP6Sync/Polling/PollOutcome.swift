import Logging
import SyncStore

/// What one poll did: its result and what it stored.
public struct PollOutcome: Sendable {
    public var result: PollResult
    public var counts = InsertCounts()
    public var requests = 0
    /// The body of some window was not sorted by timestamp (it was never checkpointed inside).
    public var sawUnsortedBody = false
    /// Set on the 404 that made ``NotFoundGate`` conclude `api.baseURL` is wrong.
    public var misconfiguration: Misconfiguration?
    /// The poll stopped asking the API before it was done: its lease on the contact ran low or
    /// went to another instance (``ContactPoller/mayAsk``). What it stored stays; the row is the
    /// new holder's.
    public var stoppedWithoutLease = false
}

/// Every contact asked got a 404 and none a 200: `api.baseURL` (or its path prefix) is wrong.
public struct Misconfiguration: Sendable, Hashable, CustomStringConvertible {
    public var baseURL: String
    /// The last URL requested (it names a contact; the API key is a header, never in it).
    public var requestedURL: String
    public var contactsAsked: Int

    public var description: String {
        "every contact asked (\(contactsAsked)) got HTTP 404 and none a 200: api.baseURL (\(baseURL)) or its path "
            + "looks wrong; last URL requested: \(requestedURL)"
    }
}
