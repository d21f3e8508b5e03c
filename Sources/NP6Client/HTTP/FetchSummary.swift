import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// What a complete response looked like besides its events.
public struct FetchSummary: Sendable {
    public var rateLimit: RateLimitInfo?
    public var bytes = 0
    public var elements = 0
}
