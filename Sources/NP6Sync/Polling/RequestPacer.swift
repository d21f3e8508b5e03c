import NP6Client

/// Paces requests to the API: at most `requestsPerSecond` started (a token bucket), and a pause
/// for everyone when the API says so (`Retry-After`, `X-RateLimit-Remaining: 0` until the reset).
public actor RequestPacer {
    private let requestsPerSecond: Double
    private let burst: Double
    private var tokens: Double
    private var refilledAt: ContinuousClock.Instant
    private var pausedUntil: ContinuousClock.Instant?
    private let wallNowMs: @Sendable () -> Int64
    /// How many times a pause was imposed by the API.
    public private(set) var pauses = 0

    public init(requestsPerSecond: Int, wallNowMs: @escaping @Sendable () -> Int64) {
        self.requestsPerSecond = Double(max(requestsPerSecond, 1))
        // A burst of one second's worth, at least one request.
        burst = max(1, Double(requestsPerSecond))
        tokens = burst
        refilledAt = .now
        self.wallNowMs = wallNowMs
    }

    /// Waits until a request may start. Throws `CancellationError` when the task is cancelled.
    public func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            if let pausedUntil, pausedUntil > now {
                try await Task.sleep(until: pausedUntil, clock: .continuous)
                continue
            }
            let elapsed = refilledAt.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            tokens = min(burst, tokens + seconds * requestsPerSecond)
            refilledAt = now
            if tokens >= 1 {
                tokens -= 1
                return
            }
            let wait = (1 - tokens) / requestsPerSecond
            try await Task.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up))))
        }
    }

    /// Takes in what a response said about the rate limit.
    public func observe(_ info: RateLimitInfo?, rateLimited: Bool) {
        guard let info else {
            if rateLimited { pause(forMs: 1000) }
            return
        }
        if rateLimited {
            pause(forMs: max(1000, (info.pauseUntilMs ?? 0) - wallNowMs()))
        } else if info.remaining == 0, let resetAtMs = info.resetAtMs {
            // Obey the budget before it turns into a 429.
            pause(forMs: resetAtMs - wallNowMs())
        }
    }

    private func pause(forMs milliseconds: Int64) {
        guard milliseconds > 0 else { return }
        let until = ContinuousClock.now.advanced(by: .milliseconds(min(milliseconds, 3_600_000)))
        if pausedUntil.map({ until > $0 }) ?? true {
            pausedUntil = until
            pauses += 1
        }
    }
}
