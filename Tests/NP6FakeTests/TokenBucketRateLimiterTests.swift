import Testing

@testable import NP6Fake

@Suite struct TokenBucketRateLimiterTests {
    @Test func burstsItsCapacityThenRefillsAtItsRate() {
        let start = ContinuousClock.now
        var limiter = TokenBucketRateLimiter<ContinuousClock.Instant>(ratePerSecond: 20, capacity: 4)
        for left in [3, 2, 1, 0] {
            let decision = limiter.acquire(at: start)
            #expect(decision.allowed && decision.remaining == left && decision.limit == 4)
        }
        // Empty: full again in 4 / 20 s, rounded up to a second.
        let denied = limiter.acquire(at: start + .milliseconds(10))
        #expect(!denied.allowed && denied.remaining == 0 && denied.resetSeconds == 1)
        // One token every 50 ms.
        #expect(
            limiter.acquire(at: start + .milliseconds(60))
                == .init(allowed: true, limit: 4, remaining: 0, resetSeconds: 1))
        #expect(!limiter.acquire(at: start + .milliseconds(70)).allowed)
        #expect(limiter.peek(at: start + .seconds(10)) == .init(allowed: true, limit: 4, remaining: 4, resetSeconds: 0))
    }

    @Test func sustainsItsRateAndNoMore() {
        let start = ContinuousClock.now
        var limiter = TokenBucketRateLimiter<ContinuousClock.Instant>(ratePerSecond: 10)
        // A request every 20 ms for 10 s: the capacity (10) plus 10 per second.
        let allowed = (0..<500).filter { limiter.acquire(at: start + .milliseconds(20 * $0)).allowed }.count
        #expect((108...111).contains(allowed))
    }
}
