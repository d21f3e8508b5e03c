import NP6Model
import NP6Client

/// Paces every request of the process through one `RateLimiter`, sleeping on the continuous clock.
public actor RequestPacer {
    private var limiter: RateLimiter<ContinuousClock.Instant>
    private let wallNowMs: @Sendable () -> Int64

    public init(requestsPerSecond: Int, wallNowMs: @escaping @Sendable () -> Int64) {
        limiter = RateLimiter(requestsPerSecond: requestsPerSecond, now: .now)
        self.wallNowMs = wallNowMs
    }

    /// How many pauses the API imposed so far.
    public var pauses: Int { limiter.pauses }

    /// Waits until a request may start. Throws `CancellationError` when the task is cancelled.
    public func acquire() async throws {
        while true {
            switch limiter.acquire(now: .now) {
            case .proceed: return
            case .wait(let instant): try await Task.sleep(until: instant, clock: .continuous)
            }
        }
    }

    /// Takes in what a response said about the rate limit.
    public func observe(_ info: RateLimitInfo?, rateLimited: Bool) {
        limiter.observe(info, rateLimited: rateLimited, now: .now, wallNowMs: wallNowMs())
    }
}
