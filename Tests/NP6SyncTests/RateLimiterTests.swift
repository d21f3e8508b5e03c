import Config
import NP6Client
import NP6Model
import SQLiteStore
import Sinks
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import NP6Sync

@Suite(.timeLimit(.minutes(1))) struct RateLimiterTests {
    let start = ContinuousClock.now
    let wall: Int64 = 1_700_000_000_000

    func at(_ seconds: Double) -> ContinuousClock.Instant { start.advanced(by: .seconds(seconds)) }

    /// How many requests the limiter lets start during `seconds`, asking as often as it allows.
    func started(_ limiter: inout RateLimiter<ContinuousClock.Instant>, from: Double, seconds: Double) -> Int {
        var now = at(from)
        var count = 0
        while now < at(from + seconds) {
            switch limiter.acquire(now: now) {
            case .proceed: count += 1
            case .wait(let until): now = until
            }
        }
        return count
    }

    @Test func startsAtMostTheConfiguredRate() {
        var limiter = RateLimiter(requestsPerSecond: 10, now: at(0))
        let count = started(&limiter, from: 0, seconds: 10)
        #expect((99...103).contains(count))
    }

    @Test func rateLimitedPausesEveryoneAndHalvesTheRate() {
        var limiter = RateLimiter(requestsPerSecond: 20, now: at(0))
        limiter.observe(RateLimitInfo(retryAtMs: wall + 3_000), rateLimited: true, now: at(0), wallNowMs: wall)
        #expect(limiter.acquire(now: at(1)) == .wait(until: at(3)))
        #expect(limiter.rate == 10)
        #expect(limiter.pauses == 1)
        // It recovers a twentieth of the configured rate per second.
        _ = started(&limiter, from: 3, seconds: 10)
        #expect(limiter.rate == 20)
    }

    @Test func retryAfterOnAServerErrorPausesEveryoneWithoutSlowingDown() {
        var limiter = RateLimiter(requestsPerSecond: 20, now: at(0))
        limiter.observe(RateLimitInfo(retryAtMs: wall + 2_000), rateLimited: false, now: at(0), wallNowMs: wall)
        #expect(limiter.acquire(now: at(1)) == .wait(until: at(2)))
        #expect(limiter.rate == 20)
    }

    @Test func rateLimitedWithoutHeadersPausesOneSecond() {
        var limiter = RateLimiter(requestsPerSecond: 5, now: at(0))
        limiter.observe(nil, rateLimited: true, now: at(0), wallNowMs: wall)
        #expect(limiter.acquire(now: at(0.5)) == .wait(until: at(1)))
    }

    @Test func exhaustedBudgetPausesUntilTheResetWithoutA429() {
        var limiter = RateLimiter(requestsPerSecond: 50, now: at(0))
        let info = RateLimitInfo(limit: 100, remaining: 0, resetAtMs: wall + 2_000)
        limiter.observe(info, rateLimited: false, now: at(0), wallNowMs: wall)
        #expect(limiter.acquire(now: at(1)) == .wait(until: at(2)))
    }

    @Test func serverLimitCapsTheRate() {
        var limiter = RateLimiter(requestsPerSecond: 50, now: at(0))
        limiter.observe(
            RateLimitInfo(limit: 20, remaining: 15, resetAtMs: wall + 1_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        #expect(limiter.rate == 19)
        let count = started(&limiter, from: 0, seconds: 10)
        #expect(count <= 192)
        #expect(count >= 180)
    }

    @Test func roundedUpResetIsShortenedToTheWindowsEnd() {
        var limiter = RateLimiter(requestsPerSecond: 50, now: at(0))
        // The window's first answer at 0 s, its last (remaining 0) at 0.9 s with a reset rounded up to 1 s.
        limiter.observe(
            RateLimitInfo(limit: 20, remaining: 19, resetAtMs: wall + 1_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        limiter.observe(
            RateLimitInfo(limit: 20, remaining: 0, resetAtMs: wall + 900 + 1_000), rateLimited: false, now: at(0.9),
            wallNowMs: wall + 900)
        #expect(limiter.acquire(now: at(0.95)) == .wait(until: at(1)))
    }

    @Test func pacerSleepsOnItsClockUntilTheLimiterAllows() async throws {
        let clock = ManualClock()
        let pacer = RequestPacer(requestsPerSecond: 10, wallNowMs: { clock.wallNowMs }, clock: clock)
        #expect(try await acquire(pacer, on: clock) == .zero)
        // The bucket holds one request: the next may start a tenth of a second later.
        let waited = try await acquire(pacer, on: clock)
        #expect(waited >= .milliseconds(99) && waited <= .milliseconds(101), "\(waited)")
        // A 429 pauses every request for a second.
        await pacer.observe(nil, rateLimited: true)
        #expect(await pacer.pauses == 1)
        let paused = try await acquire(pacer, on: clock)
        #expect(paused >= .seconds(1) && paused <= .milliseconds(1010), "\(paused)")
    }

    /// Acquires from `pacer`, moving the clock to each deadline it sleeps until; returns how far the clock moved.
    func acquire(_ pacer: RequestPacer, on clock: ManualClock) async throws -> Duration {
        let started = clock.now
        let done = Mutex(false)
        let acquiring = Task {
            try await pacer.acquire()
            done.withLock { $0 = true }
        }
        let giveUp = ContinuousClock.now + .seconds(60)
        while !done.withLock({ $0 }), ContinuousClock.now < giveUp {
            if let deadline = clock.sleeperDeadlines.first { clock.advance(to: deadline) }
            try await Task.sleep(for: .milliseconds(1))
        }
        try await acquiring.value
        return started.duration(to: clock.now)
    }
}
