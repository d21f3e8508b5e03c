/// What a heartbeat tells an instance about the others on its database: how many share the
/// API's rate limit, and whether one of them was told to pause (a 429).
public struct ClusterShare: Sendable, Hashable {
    /// The instances heard from within a lease, this one included: at least 1.
    public var liveInstances: Int
    /// This instance's place among them (0-based, in `instances.id` order): who takes a
    /// remainder that does not divide evenly.
    public var rank: Int
    /// The latest time until which a live instance was told by the API to pause (its 429's
    /// `Retry-After` or reset), when that is still ahead; `nil` when none is.
    public var rateLimitedUntilMs: Int64?
    /// The contacts whose leases the heartbeat renewed: those of `renewing` still this
    /// instance's and not locked by a commit at that moment.
    public var renewed: Set<Int64>
    /// The database's clock (`clock_timestamp()`) during the heartbeat, which the instances
    /// share as cluster time; `nil` for a store one process uses (SQLite).
    public var databaseNowMs: Int64?

    public init(
        liveInstances: Int, rank: Int = 0, rateLimitedUntilMs: Int64? = nil, renewed: Set<Int64> = [],
        databaseNowMs: Int64? = nil
    ) {
        self.liveInstances = max(1, liveInstances)
        self.rank = min(max(0, rank), self.liveInstances - 1)
        self.rateLimitedUntilMs = rateLimitedUntilMs
        self.renewed = renewed
        self.databaseNowMs = databaseNowMs
    }

    /// This instance's part of `whole` things divided among the live instances: equal whole
    /// parts, the remainder one each to the first ranks, so that the parts add up to `whole`.
    public func part(of whole: Int) -> Int {
        whole / liveInstances + (rank < whole % liveInstances ? 1 : 0)
    }
}
