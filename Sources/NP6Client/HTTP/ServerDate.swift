/// The API's clock as one response showed it: its `Date` header, and the local time the response
/// arrived.
public struct ServerDate: Sendable, Hashable {
    /// The `Date` header, ms since the epoch (whole seconds: the header has 1 s resolution).
    public var dateMs: Int64
    /// The local wall clock when the response head arrived, ms since the epoch.
    public var receivedMs: Int64

    public init(dateMs: Int64, receivedMs: Int64) {
        self.dateMs = dateMs
        self.receivedMs = receivedMs
    }

    /// The local clock minus the API's, as this response measured it: positive when the local
    /// clock is ahead. Never less than the true difference (the header is stamped before the
    /// response arrives and rounded down), by at most a second plus the time in transit.
    public var skewMs: Int64 { receivedMs - dateMs }
}
