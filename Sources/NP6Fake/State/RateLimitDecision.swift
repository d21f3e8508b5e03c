/// What a rate limiter of the fake decided for one request, and the headers it sends.
struct RateLimitDecision: Equatable, Sendable {
    var allowed: Bool
    /// `X-RateLimit-Limit`.
    var limit: Int
    /// `X-RateLimit-Remaining`.
    var remaining: Int
    /// `X-RateLimit-Reset`: whole seconds until the window resets or the bucket is full again
    /// (rounded up, at least 1 when denied).
    var resetSeconds: Int
}

/// The fake's rate limit: the two kinds of server NP6 may be.
enum FakeRateLimiter<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    case fixedWindow(FixedWindowRateLimiter<Instant>)
    case tokenBucket(TokenBucketRateLimiter<Instant>)

    init?(_ knobs: FakeNP6Knobs) {
        guard let rate = knobs.rateLimitPerSecond else { return nil }
        switch knobs.rateLimitKind {
        case .fixedWindow: self = .fixedWindow(FixedWindowRateLimiter(limit: rate))
        case .tokenBucket:
            self = .tokenBucket(TokenBucketRateLimiter(ratePerSecond: rate, capacity: knobs.rateLimitBurst))
        }
    }

    mutating func acquire(at now: Instant) -> RateLimitDecision {
        switch self {
        case .fixedWindow(var limiter):
            defer { self = .fixedWindow(limiter) }
            return limiter.acquire(at: now)
        case .tokenBucket(var limiter):
            defer { self = .tokenBucket(limiter) }
            return limiter.acquire(at: now)
        }
    }

    mutating func peek(at now: Instant) -> RateLimitDecision {
        switch self {
        case .fixedWindow(var limiter):
            defer { self = .fixedWindow(limiter) }
            return limiter.peek(at: now)
        case .tokenBucket(var limiter):
            defer { self = .tokenBucket(limiter) }
            return limiter.peek(at: now)
        }
    }
}
