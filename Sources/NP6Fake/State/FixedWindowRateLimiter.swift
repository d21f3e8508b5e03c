/// A fixed-window rate limiter: at most `limit` requests per window, the window starting at the
/// first request after the previous one ended.
///
/// A pure state machine over any instant type, so it is tested with made-up instants.
struct FixedWindowRateLimiter<Instant: InstantProtocol>: Sendable
where Instant.Duration == Duration, Instant: Sendable {
    let limit: Int
    let window: Duration
    private var windowStart: Instant?
    private var used = 0

    init(limit: Int, window: Duration = .seconds(1)) {
        self.limit = max(0, limit)
        self.window = window
    }

    /// Counts a request at `now` and tells whether it is allowed.
    mutating func acquire(at now: Instant) -> RateLimitDecision {
        rollWindow(at: now)
        let allowed = used < limit
        if allowed { used += 1 }
        return decision(at: now, allowed: allowed)
    }

    /// The current counts without using a request (for answers that do not count, like a 401).
    mutating func peek(at now: Instant) -> RateLimitDecision {
        rollWindow(at: now)
        return decision(at: now, allowed: used < limit)
    }

    private mutating func rollWindow(at now: Instant) {
        if let start = windowStart, start.duration(to: now) < window { return }
        windowStart = now
        used = 0
    }

    private func decision(at now: Instant, allowed: Bool) -> RateLimitDecision {
        let left = windowStart.map { window - $0.duration(to: now) } ?? window
        let milliseconds = max(0, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
        let reset = Int((milliseconds + 999) / 1000)
        return RateLimitDecision(
            allowed: allowed,
            limit: limit,
            remaining: max(0, limit - used),
            resetSeconds: allowed ? reset : max(1, reset)
        )
    }
}
