import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// What a complete response looked like besides its events.
public struct FetchSummary: Sendable {
    public var rateLimit: RateLimitInfo?
    /// The response's `Date` header with the local time it arrived; `nil` without a valid header.
    public var serverDate: ServerDate?
    public var bytes = 0
    public var elements = 0

    public init() {}
}
