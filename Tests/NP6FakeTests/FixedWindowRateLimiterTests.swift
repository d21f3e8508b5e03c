import Testing

@testable import NP6Fake

@Suite("FixedWindowRateLimiterTests")
struct FixedWindowRateLimiterTests {
    @Test func allowsLimitPerWindowThenDeniesUntilReset() {
        let start = ContinuousClock.now
        var limiter = FixedWindowRateLimiter<ContinuousClock.Instant>(limit: 2)
        #expect(limiter.acquire(at: start) == .init(allowed: true, limit: 2, remaining: 1, resetSeconds: 1))
        #expect(limiter.acquire(at: start + .milliseconds(100)).remaining == 0)
        let denied = limiter.acquire(at: start + .milliseconds(400))
        #expect(!denied.allowed && denied.remaining == 0 && denied.resetSeconds == 1)
        #expect(limiter.peek(at: start + .milliseconds(999)).allowed == false)
        #expect(
            limiter.acquire(at: start + .milliseconds(1000))
                == .init(allowed: true, limit: 2, remaining: 1, resetSeconds: 1)
        )
    }

    @Test func zeroLimitDeniesEverything() {
        var limiter = FixedWindowRateLimiter<ContinuousClock.Instant>(limit: 0)
        #expect(limiter.acquire(at: .now).allowed == false)
    }
}
