/// What a heartbeat tells an instance about the others on its database: how many share the
/// API's rate limit, and whether one of them was told to pause (a 429).
public struct ClusterShare: Sendable, Hashable {
    /// The instances heard from within a lease, this one included: at least 1.
    public var liveInstances: Int
    /// The latest time until which a live instance was told by the API to pause (its 429's
    /// `Retry-After` or reset), when that is still ahead; `nil` when none is.
    public var rateLimitedUntilMs: Int64?

    public init(liveInstances: Int, rateLimitedUntilMs: Int64? = nil) {
        self.liveInstances = max(1, liveInstances)
        self.rateLimitedUntilMs = rateLimitedUntilMs
    }
}
