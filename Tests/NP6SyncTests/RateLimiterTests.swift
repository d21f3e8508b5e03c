import NIOHTTP1
import NP6Client
import NP6Model
import SyncStore
import Synchronization
import TestClocks
import Testing

@testable import NP6Sync

@Suite(.timeLimit(.minutes(1))) struct RateLimiterTests {
    let start = ContinuousClock.now
    let wall: Int64 = 1_700_000_000_000

    func at(_ seconds: Double) -> ContinuousClock.Instant { start.advanced(by: .seconds(seconds)) }

    /// Acquires at `now`, expecting a request may start.
    func ticket(
        _ limiter: inout RateLimiter<ContinuousClock.Instant>, at now: ContinuousClock.Instant
    ) throws
        -> RequestTicket
    {
        guard case .proceed(let ticket) = limiter.acquire(now: now) else {
            Issue.record("no request may start at \(now)")
            throw CancellationError()
        }
        return ticket
    }

    /// Expects `decision` to be a wait until `seconds` after the start, to the microsecond.
    func expectWait(
        _ decision: RateLimiter<ContinuousClock.Instant>.Decision, until seconds: Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .wait(let until) = decision else {
            Issue.record("\(decision) instead of a wait until \(seconds) s", sourceLocation: sourceLocation)
            return
        }
        let error = abs(start.duration(to: until).seconds - seconds)
        #expect(
            error < 0.000_01, "a wait until \(start.duration(to: until)), not \(seconds) s",
            sourceLocation: sourceLocation)
    }

    /// How many requests the limiter lets start during `seconds`, asking as often as it allows;
    /// each is answered at once with `info`.
    func started(
        _ limiter: inout RateLimiter<ContinuousClock.Instant>, from: Double, seconds: Double, info: RateLimitInfo? = nil
    ) -> Int {
        var now = at(from)
        var count = 0
        while now < at(from + seconds) {
            switch limiter.acquire(now: now) {
            case .proceed(let ticket):
                count += 1
                limiter.observe(ticket, info, rateLimited: false, now: now, wallNowMs: wall)
            case .wait(let until): now = until
            }
        }
        return count
    }

    @Test func withoutHeadersStartsAtMostTheConfiguredRate() {
        var limiter = RateLimiter(requestsPerSecond: 10, now: at(0))
        let count = started(&limiter, from: 0, seconds: 10)
        #expect((99...103).contains(count))
    }

    @Test func theFirstRequestGoesAloneUntilItsAnswerTellsTheBudget() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        let first = try ticket(&limiter, at: at(0))
        guard case .wait = limiter.acquire(now: at(0.01)) else {
            Issue.record("a second request started before the first answer")
            return
        }
        limiter.observe(
            first, RateLimitInfo(limit: 20, remaining: 19, resetAtMs: wall + 1_000), rateLimited: false, now: at(0.02),
            wallNowMs: wall)
        // The budget left is spent at once; while it is in flight, the limiter waits for answers.
        let spent = try (0..<19).map { _ in try ticket(&limiter, at: at(0.02)) }
        expectWait(limiter.acquire(now: at(0.02)), until: 0.025)
        // Then, all of it answered and used up, for the window's end.
        for (index, request) in spent.enumerated() {
            limiter.observe(
                request, RateLimitInfo(limit: 20, remaining: 18 - index, resetAtMs: wall + 1_000), rateLimited: false,
                now: at(0.03), wallNowMs: wall + 10)
        }
        // (Plus 2 ms: arrivals are read in whole milliseconds.)
        expectWait(limiter.acquire(now: at(0.03)), until: 1.022)
    }

    @Test func rateLimitedPausesEveryoneAndHalvesTheRate() throws {
        var limiter = RateLimiter(requestsPerSecond: 20, now: at(0))
        let request = try ticket(&limiter, at: at(0))
        limiter.observe(request, RateLimitInfo(retryAtMs: wall + 3_000), rateLimited: true, now: at(0), wallNowMs: wall)
        expectWait(limiter.acquire(now: at(1)), until: 3)
        #expect(limiter.rate == 10)
        #expect(limiter.pauses == 1)
        // It recovers a twentieth of the configured rate per second.
        _ = started(&limiter, from: 3, seconds: 10)
        #expect(limiter.rate == 20)
    }

    @Test func aRateLimitHalvesTheServersRateWhenItIsLowerThanOurs() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        let first = try ticket(&limiter, at: at(0))
        limiter.observe(
            first, RateLimitInfo(limit: 20, remaining: 19, resetAtMs: wall + 1_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        let second = try ticket(&limiter, at: at(0))
        limiter.observe(
            second, RateLimitInfo(limit: 20, remaining: 0, resetAtMs: wall + 1_000), rateLimited: true, now: at(0),
            wallNowMs: wall)
        #expect(limiter.rate == 10)
        expectWait(limiter.acquire(now: at(0.5)), until: 1)
    }

    /// Issue 18: the longest `Reset` ever seen was kept, so one answer with an epoch in
    /// microseconds (read as milliseconds: 50,000 years ahead) made the server's rate nil for
    /// good, and after the next 429 the rate never recovered from 1 request per second.
    @Test func anImplausibleResetDoesNotSlowTheLimiterForGood() throws {
        var limiter = RateLimiter(requestsPerSecond: 20, now: at(0))
        let odd = try ticket(&limiter, at: at(0))
        let headers = HTTPHeaders([
            ("X-RateLimit-Limit", "1200"), ("X-RateLimit-Remaining", "1199"), ("X-RateLimit-Reset", "\(wall * 1_000)"),
        ])
        let info = try #require(RateLimitInfo(headers: headers, nowMs: wall))
        #expect(info.resetAtMs == wall * 1_000, "read as an epoch in milliseconds")
        limiter.observe(odd, info, rateLimited: false, now: at(0), wallNowMs: wall)
        // Not a window's end either: the budget left is spent, not held for the odd reset.
        #expect(started(&limiter, from: 0, seconds: 1) >= 19)
        let limited = try ticket(&limiter, at: at(1))
        limiter.observe(
            limited, RateLimitInfo(limit: 1200, remaining: 0, resetAtMs: wall + 2_000), rateLimited: true, now: at(1),
            wallNowMs: wall + 1_000)
        #expect(limiter.rate == 10)
        // Half the rate after the 429, all of it 10 s later: 1,200 per minute allows 20/s.
        let plain = RateLimitInfo(limit: 1200, remaining: 1000, resetAtMs: wall + 60_000)
        #expect(started(&limiter, from: 20, seconds: 10, info: plain) >= 190)
        #expect(limiter.rate == 20)
    }

    @Test func retryAfterOnAServerErrorPausesEveryoneWithoutSlowingDown() throws {
        var limiter = RateLimiter(requestsPerSecond: 20, now: at(0))
        let request = try ticket(&limiter, at: at(0))
        limiter.observe(
            request, RateLimitInfo(retryAtMs: wall + 2_000), rateLimited: false, now: at(0), wallNowMs: wall)
        expectWait(limiter.acquire(now: at(1)), until: 2)
        #expect(limiter.rate == 20)
    }

    @Test func rateLimitedWithoutHeadersPausesOneSecond() throws {
        var limiter = RateLimiter(requestsPerSecond: 5, now: at(0))
        let request = try ticket(&limiter, at: at(0))
        limiter.observe(request, nil, rateLimited: true, now: at(0), wallNowMs: wall)
        expectWait(limiter.acquire(now: at(0.5)), until: 1)
    }

    @Test func exhaustedBudgetWaitsForTheResetWithoutA429() throws {
        var limiter = RateLimiter(requestsPerSecond: 50, now: at(0))
        let request = try ticket(&limiter, at: at(0))
        limiter.observe(
            request, RateLimitInfo(limit: 100, remaining: 0, resetAtMs: wall + 2_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        expectWait(limiter.acquire(now: at(1)), until: 2.002)
        #expect(limiter.pauses == 1)
    }

    @Test func remainingZeroWithoutResetWaitsOneSecond() throws {
        var limiter = RateLimiter(requestsPerSecond: 50, now: at(0))
        let request = try ticket(&limiter, at: at(0))
        limiter.observe(request, RateLimitInfo(remaining: 0), rateLimited: false, now: at(0), wallNowMs: wall)
        expectWait(limiter.acquire(now: at(0.2)), until: 1)
    }

    @Test func roundedUpResetIsShortenedToTheWindowsEarliestEnd() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        // The window's first answer at 0 s, its last (remaining 0) at 0.9 s with a reset rounded up to 1 s.
        let first = try ticket(&limiter, at: at(0))
        limiter.observe(
            first, RateLimitInfo(limit: 2, remaining: 1, resetAtMs: wall + 1_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        let last = try ticket(&limiter, at: at(0.9))
        limiter.observe(
            last, RateLimitInfo(limit: 2, remaining: 0, resetAtMs: wall + 900 + 1_000), rateLimited: false,
            now: at(0.9), wallNowMs: wall + 900)
        expectWait(limiter.acquire(now: at(0.95)), until: 1.002)
    }

    @Test func requestsInFlightCountAgainstTheBudget() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        let first = try ticket(&limiter, at: at(0))
        limiter.observe(
            first, RateLimitInfo(limit: 10, remaining: 9, resetAtMs: wall + 1_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        let inFlight = try (0..<9).map { _ in try ticket(&limiter, at: at(0)) }
        guard case .wait = limiter.acquire(now: at(0.1)) else {
            Issue.record("a tenth request started with nine unanswered")
            return
        }
        // One that ended without an answer frees nothing: it may have reached the server.
        limiter.finish(inFlight[0])
        #expect(limiter.inFlight == 8)
    }

    @Test func aProbeFindingThePartlyRefilledBucketPacesByTheRefill() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        let first = try ticket(&limiter, at: at(0))
        limiter.observe(
            first, RateLimitInfo(limit: 10, remaining: 0, resetAtMs: wall + 1_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        // At the reset a probe goes alone, and finds 6 of 10: a bucket refilling 10 per second.
        let probe = try ticket(&limiter, at: at(1.01))
        expectWait(limiter.acquire(now: at(1.01)), until: 1.015)
        limiter.observe(
            probe, RateLimitInfo(limit: 10, remaining: 5, resetAtMs: wall + 2_000), rateLimited: false, now: at(1.01),
            wallNowMs: wall + 1_000)
        #expect(limiter.refillsGradually)
        let spent = try (0..<5).map { _ in try ticket(&limiter, at: at(1.01)) }
        // Five in flight: their answers may come before the refill.
        expectWait(limiter.acquire(now: at(1.01)), until: 1.015)
        // Answered, nothing left: the next token comes a tenth of a second after the last answer.
        for (index, request) in spent.enumerated() {
            limiter.observe(
                request, RateLimitInfo(limit: 10, remaining: 4 - index, resetAtMs: wall + 2_000), rateLimited: false,
                now: at(1.01), wallNowMs: wall + 1_000)
        }
        expectWait(limiter.acquire(now: at(1.01)), until: 1.11)
    }

    @Test func anAnswerHandledAfterTheAnchorWithMoreLeftOpensAWindow() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        let first = try ticket(&limiter, at: at(0))
        limiter.observe(
            first, RateLimitInfo(limit: 20, remaining: 19, resetAtMs: wall + 1_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        let spent = try (0..<5).map { _ in try ticket(&limiter, at: at(0.01)) }
        limiter.observe(
            spent[0], RateLimitInfo(limit: 20, remaining: 14, resetAtMs: wall + 1_000), rateLimited: false,
            now: at(0.02), wallNowMs: wall + 20)
        // Sent after that answer (the anchor, 14 left), with four still out: as much left though
        // handled after it is no refill (a fixed window's answers arrive out of order)...
        let same = try ticket(&limiter, at: at(0.02))
        limiter.observe(
            same, RateLimitInfo(limit: 20, remaining: 14, resetAtMs: wall + 1_000), rateLimited: false,
            now: at(0.03), wallNowMs: wall + 30)
        #expect(!limiter.refillsGradually)
        // ...and more left is a window that opened (handled after the server's rolled over):
        // its budget, less the four still out, may go now.
        let rolledOver = try ticket(&limiter, at: at(0.03))
        limiter.observe(
            rolledOver, RateLimitInfo(limit: 20, remaining: 18, resetAtMs: wall + 2_000), rateLimited: false,
            now: at(1.01), wallNowMs: wall + 1_010)
        #expect(!limiter.refillsGradually)
        var going = 0
        while case .proceed = limiter.acquire(now: at(1.01)) { going += 1 }
        #expect(going == 14)
    }

    @Test func clusterPartsAddUpToTheWhole() {
        for instances in 1...4 {
            for whole in [0, 1, 5, 16, 20, 200] {
                let parts = (0..<instances).map { ClusterShare(liveInstances: instances, rank: $0).part(of: whole) }
                #expect(parts.reduce(0, +) == whole, "\(whole) among \(instances): \(parts)")
                #expect(parts.max()! - parts.min()! <= 1, "\(whole) among \(instances): \(parts)")
            }
        }
    }

    @Test func instancesSharingTheKeyDivideOurRate() {
        var limiter = RateLimiter(requestsPerSecond: 30, now: at(0))
        limiter.share(among: ClusterShare(liveInstances: 3), pausedUntil: nil)
        #expect((99...103).contains(started(&limiter, from: 0, seconds: 10)))
        // One of the three is gone: the two left take half each.
        limiter.share(among: ClusterShare(liveInstances: 2), pausedUntil: nil)
        #expect((148...153).contains(started(&limiter, from: 10, seconds: 10)))
    }

    @Test func instancesSharingAFixedWindowEachSendTheirShareOfItsLimit() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        limiter.share(among: ClusterShare(liveInstances: 2), pausedUntil: nil)
        let first = try ticket(&limiter, at: at(0))
        limiter.observe(
            first, RateLimitInfo(limit: 40, remaining: 30, resetAtMs: wall + 1_000), rateLimited: false, now: at(0.01),
            wallNowMs: wall)
        // 30 are left, but this instance's share of the window is 20: 19 more go, then it waits
        // for their answers.
        let spent = try (0..<19).map { _ in try ticket(&limiter, at: at(0.01)) }
        expectWait(limiter.acquire(now: at(0.01)), until: 0.015)
        // Answered, the other instance's requests among them: nothing more until the window ends,
        // though `Remaining` says 2 (they are the other instance's share).
        for request in spent {
            limiter.observe(
                request, RateLimitInfo(limit: 40, remaining: 2, resetAtMs: wall + 1_000), rateLimited: false,
                now: at(0.02), wallNowMs: wall)
        }
        expectWait(limiter.acquire(now: at(0.02)), until: 1.012)
        // Then one probe asks for the new window's budget.
        let probe = try ticket(&limiter, at: at(1.012))
        // Its answer opens the new window: 35 left, fewer than a fresh one would leave because the
        // other instance's requests went first, which is no refill; this instance's share again.
        limiter.observe(
            probe, RateLimitInfo(limit: 40, remaining: 35, resetAtMs: wall + 2_000), rateLimited: false,
            now: at(1.02), wallNowMs: wall + 1_000)
        #expect(!limiter.refillsGradually, "a lower Remaining than fresh is the other instance's, not a refill")
        #expect(started(&limiter, from: 1.02, seconds: 0.5) == 19)
    }

    @Test func aPauseAnotherInstanceMetHoldsThisOneAndOnlyTheAPIsPausesAreShared() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        limiter.share(among: ClusterShare(liveInstances: 2), pausedUntil: at(2))
        expectWait(limiter.acquire(now: at(0)), until: 2)
        #expect(limiter.apiPausedUntil == nil, "another's pause is not shared again as this one's")
        limiter.hold(until: at(3))
        #expect(limiter.apiPausedUntil == nil, "a hold of our own (a wrong base URL) is not the API's")
        let request = try ticket(&limiter, at: at(3))
        limiter.observe(
            request, RateLimitInfo(limit: 10, remaining: 0, resetAtMs: wall + 5_000, retryAtMs: wall + 5_000),
            rateLimited: true, now: at(3), wallNowMs: wall)
        #expect(limiter.apiPausedUntil == at(8))
    }

    @Test func fewerTokensThanInstancesStillLetEachAsk() throws {
        var limiter = RateLimiter(requestsPerSecond: 1_000, now: at(0))
        limiter.share(among: ClusterShare(liveInstances: 3), pausedUntil: nil)
        let first = try ticket(&limiter, at: at(0))
        limiter.observe(
            first, RateLimitInfo(limit: 2, remaining: 1, resetAtMs: wall + 1_000), rateLimited: false, now: at(0),
            wallNowMs: wall)
        // A third of one request: none now, a probe when the window ends.
        expectWait(limiter.acquire(now: at(0)), until: 1.002)
        _ = try ticket(&limiter, at: at(1.002))
    }

    @Test func pacerSleepsOnItsClockUntilTheLimiterAllows() async throws {
        let clock = ManualClock()
        let pacer = RequestPacer(requestsPerSecond: 4, wallNowMs: { clock.wallNowMs }, clock: clock)
        let (first, firstWaited) = try await acquire(pacer, on: clock)
        #expect(firstWaited == .zero)
        await pacer.observe(first, nil, rateLimited: false)
        // The bucket holds one request: the next may start a quarter of a second later.
        let (second, waited) = try await acquire(pacer, on: clock)
        #expect(waited >= .milliseconds(249) && waited <= .milliseconds(251), "\(waited)")
        // A 429 pauses every request for a second.
        await pacer.observe(second, nil, rateLimited: true)
        #expect(await pacer.pauses == 1)
        let (_, paused) = try await acquire(pacer, on: clock)
        #expect(paused >= .seconds(1) && paused <= .milliseconds(1010), "\(paused)")
    }

    /// Acquires from `pacer`, moving the clock to each deadline it sleeps until; returns the
    /// ticket and how far the clock moved.
    func acquire(_ pacer: RequestPacer, on clock: ManualClock) async throws -> (RequestTicket, Duration) {
        let started = clock.now
        let ticket = try await clock.advancingToEachDeadline { try await pacer.acquire() }
        return (ticket, started.duration(to: clock.now))
    }
}
