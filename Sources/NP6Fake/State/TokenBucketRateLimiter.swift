/// A token-bucket rate limiter: `capacity` tokens, refilled at `ratePerSecond`; a request takes
/// one. `X-RateLimit-Remaining` is the whole tokens left, `X-RateLimit-Reset` the seconds until
/// the bucket is full again, rounded up.
///
/// A pure state machine over any instant type, so it is tested with made-up instants.
struct TokenBucketRateLimiter<Instant: InstantProtocol>: Sendable
where Instant.Duration == Duration, Instant: Sendable {
    let ratePerSecond: Double
    let capacity: Int
    private var tokens: Double
    private var refilledAt: Instant?

    /// A full bucket of `capacity` tokens (default: one second's worth).
    init(ratePerSecond: Int, capacity: Int? = nil) {
        self.ratePerSecond = Double(max(1, ratePerSecond))
        self.capacity = max(1, capacity ?? ratePerSecond)
        tokens = Double(self.capacity)
    }

    /// Takes a token at `now` if there is one.
    mutating func acquire(at now: Instant) -> RateLimitDecision {
        refill(at: now)
        let allowed = tokens >= 1
        if allowed { tokens -= 1 }
        return decision(allowed: allowed)
    }

    /// The current state without taking a token (for answers that do not count, like a 401).
    mutating func peek(at now: Instant) -> RateLimitDecision {
        refill(at: now)
        return decision(allowed: tokens >= 1)
    }

    private mutating func refill(at now: Instant) {
        if let refilledAt {
            let elapsed = refilledAt.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            tokens = min(Double(capacity), tokens + max(0, seconds) * ratePerSecond)
        }
        refilledAt = now
    }

    private func decision(allowed: Bool) -> RateLimitDecision {
        let untilFull = (Double(capacity) - tokens) / ratePerSecond
        let reset = Int(untilFull.rounded(.up))
        return RateLimitDecision(
            allowed: allowed, limit: capacity, remaining: Int(tokens.rounded(.down)),
            resetSeconds: allowed ? reset : max(1, reset))
    }
}
