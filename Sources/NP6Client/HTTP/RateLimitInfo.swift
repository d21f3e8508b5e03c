import NIOHTTP1
import NP6Model

/// What the API said about its rate limit, from `X-RateLimit-*` and `Retry-After`.
///
/// The format of `X-RateLimit-Reset` is undocumented: a small integer is read as seconds until
/// the reset, a large one as an epoch time in seconds or milliseconds.
public struct RateLimitInfo: Sendable, Hashable {
    public var limit: Int?
    public var remaining: Int?
    /// When the current window resets, ms since the epoch.
    public var resetAtMs: Int64?
    /// When the API asked to be called again (`Retry-After`), ms since the epoch.
    public var retryAtMs: Int64?

    public init(limit: Int? = nil, remaining: Int? = nil, resetAtMs: Int64? = nil, retryAtMs: Int64? = nil) {
        self.limit = limit
        self.remaining = remaining
        self.resetAtMs = resetAtMs
        self.retryAtMs = retryAtMs
    }

    /// Reads the headers of a response received at `nowMs`; `nil` when none of them is present.
    public init?(headers: HTTPHeaders, nowMs: Int64) {
        func integer(_ name: String) -> Int64? {
            headers.first(name: name).flatMap { Int64($0) }
        }
        limit = integer("X-RateLimit-Limit").map { Int(clamping: $0) }
        remaining = integer("X-RateLimit-Remaining").map { Int(clamping: $0) }
        resetAtMs = integer("X-RateLimit-Reset").map { Self.absoluteMs(reset: $0, nowMs: nowMs) }
        retryAtMs = headers.first(name: "Retry-After").flatMap { Timestamp.parseRetryAfter($0, nowMs: nowMs) }
        if limit == nil, remaining == nil, resetAtMs == nil, retryAtMs == nil { return nil }
    }

    /// The earliest moment the API said requests may go again, if it said one.
    public var pauseUntilMs: Int64? {
        switch (retryAtMs, resetAtMs) {
        case (let retry?, let reset?): max(retry, reset)
        case (let retry?, nil): retry
        case (nil, let reset?): reset
        case (nil, nil): nil
        }
    }

    static func absoluteMs(reset: Int64, nowMs: Int64) -> Int64 {
        switch reset {
        case ..<0: nowMs
        case ..<1_000_000_000: nowMs + reset * 1000  // seconds from now
        case ..<1_000_000_000_000: reset * 1000  // epoch seconds
        default: reset  // epoch milliseconds
        }
    }
}
