import Foundation
import NP6Client
import NP6Model
import SyncStore
import Testing

@testable import NP6Sync

/// The `RateLimiter` against simulated servers of both kinds NP6 may be, in simulated time:
/// sixteen workers, answers whose heads arrive 2 to 20 ms after the request left (so requests
/// overtake each other), bodies read for a few milliseconds more. The figures against the real
/// fake API, over HTTP, are `scripts/measure-rate-limit`'s; these pin the algorithm down.
@Suite(.timeLimit(.minutes(1))) struct RateLimiterSimulationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var server: SimulatedServer
        var limit: Int
        var testDescription: String { "\(server) \(limit)/s" }
    }

    static let cases: [Case] =
        [5, 20, 200].flatMap { limit in
            [
                Case(server: .fixedWindow(limit: limit), limit: limit),
                Case(server: .tokenBucket(rate: limit, capacity: limit), limit: limit),
            ]
        } + [Case(server: .tokenBucket(rate: 20, capacity: 200), limit: 20)]

    /// A daemon with more contacts due than the limit allows: after a warm-up, it is answered
    /// at 95% of the limit or more, with fewer than 1% 429s.
    @Test(arguments: cases) func aBusyDaemonUsesTheWholeLimitWithout429s(_ test: Case) {
        var simulation = Simulation(server: test.server)
        let result = simulation.run(seconds: 70, measuringFrom: 10)
        let used = Double(result.answered) / 60 / Double(test.limit)
        #expect(used >= 0.95, "used \(used) of the limit")
        #expect(used <= 1.001, "more than the limit: \(used)")
        #expect(Double(result.rateLimited) < 0.01 * Double(result.answered + result.rateLimited), "\(result)")
    }

    /// A sync of five seconds' worth of contacts at the limit, the server's budget full at the
    /// start: it spends the burst, then the limit; it takes at most 5% longer than ideal.
    @Test(arguments: cases.filter { $0.server.capacity == $0.limit }) func aSyncSpendsTheBurstThenTheLimit(_ test: Case)
    {
        var simulation = Simulation(server: test.server)
        let contacts = max(25, 5 * test.limit)
        let result = simulation.run(requests: contacts)
        let ideal = Double(contacts - test.limit) / Double(test.limit)
        #expect(result.seconds <= ideal / 0.95 + 0.05, "\(result.seconds) s for an ideal of \(ideal) s")
        #expect(result.rateLimited == 0, "\(result)")
    }

    /// Two and three instances on one key (five workers each), told by their heartbeat how many
    /// share it and each other's 429 pauses, a second late: together they are answered at 95% of
    /// the limit or more, never above it (but for a token bucket's
    /// stored burst), with fewer than 1% 429s, whether `api.requestsPerSecond` is the limit or
    /// above it (the server's headers then hold them).
    @Test(arguments: cases, [2, 3])
    func instancesSharingAKeyHoldItsLimitTogether(_ test: Case, instances: Int) {
        for configured in [test.limit, 1_000] {
            var simulation = Simulation(
                server: test.server, instances: instances, workersPerInstance: 5, requestsPerSecond: configured)
            let result = simulation.run(seconds: 70, measuringFrom: 10)
            let used = Double(result.answered) / 60 / Double(test.limit)
            #expect(used >= 0.95, "\(configured)/s configured: used \(used) of the limit")
            // The instances spend their shares of a token bucket's stored tokens later than one
            // instance would, some within the measured minute: the limit, plus what it held.
            let allowed = 1.001 + Double(test.server.capacity) / 60 / Double(test.limit)
            #expect(used <= allowed, "\(configured)/s configured: more than the limit: \(used)")
            #expect(
                Double(result.rateLimited) < 0.01 * Double(result.answered + result.rateLimited),
                "\(configured)/s configured: \(result)")
        }
    }
}

/// A rate-limited server as NP6 may be one: its decisions and `X-RateLimit-*` headers.
enum SimulatedServer: CustomStringConvertible, Sendable {
    /// At most `limit` requests per second, the window starting at the first request after the previous one.
    case fixedWindow(limit: Int, start: Double? = nil, used: Int = 0)
    /// `capacity` tokens refilled at `rate` per second; `Reset` is when the bucket is full again.
    case tokenBucket(rate: Int, capacity: Int, tokens: Double? = nil, at: Double = 0)

    var description: String {
        switch self {
        case .fixedWindow: "fixed window"
        case .tokenBucket(let rate, let capacity, _, _):
            rate == capacity ? "token bucket" : "token bucket burst \(capacity)"
        }
    }

    var capacity: Int {
        switch self {
        case .fixedWindow(let limit, _, _): limit
        case .tokenBucket(_, let capacity, _, _): capacity
        }
    }

    /// Takes a request at `t` seconds: whether it is allowed, `Remaining` and `Reset` (whole seconds).
    mutating func take(at t: Double) -> (allowed: Bool, remaining: Int, reset: Int) {
        switch self {
        case .fixedWindow(let limit, var start, var used):
            if start.map({ t - $0 >= 1 }) ?? true {
                start = t
                used = 0
            }
            let allowed = used < limit
            if allowed { used += 1 }
            self = .fixedWindow(limit: limit, start: start, used: used)
            let reset = Int((1 - (t - start!)).rounded(.up))
            return (allowed, limit - used, allowed ? reset : max(1, reset))
        case .tokenBucket(let rate, let capacity, let tokens, let at):
            var tokens = min(Double(capacity), (tokens ?? Double(capacity)) + (t - at) * Double(rate))
            let allowed = tokens >= 1
            if allowed { tokens -= 1 }
            self = .tokenBucket(rate: rate, capacity: capacity, tokens: tokens, at: t)
            let reset = Int(((Double(capacity) - tokens) / Double(rate)).rounded(.up))
            return (allowed, Int(tokens.rounded(.down)), allowed ? reset : max(1, reset))
        }
    }
}

/// Workers (sixteen by default) asking their instance's limiter and a simulated server, in
/// simulated time; several instances hear of each other as their heartbeat would tell them.
struct Simulation {
    struct Result: CustomStringConvertible {
        var answered = 0
        var rateLimited = 0
        var seconds = 0.0
        var description: String { "\(answered) answered, \(rateLimited) rate limited, \(seconds) s" }
    }

    private enum Step {
        case ask
        case reachServer(RequestTicket)
        case head(RequestTicket, RateLimitInfo, rateLimited: Bool)
        /// The instance's heartbeat: the other instances' pauses reach it (once a second).
        case heartbeat
    }

    var server: SimulatedServer
    private let origin = ContinuousClock.now
    private let wall: Int64 = 1_700_000_000_000
    private var random: UInt64 = 42
    /// Each worker's instance, next step and when.
    private var workers: [(instance: Int, at: Duration, step: Step)]
    private var limiters: [RateLimiter<ContinuousClock.Instant>]

    init(server: SimulatedServer, instances: Int = 1, workersPerInstance: Int = 16, requestsPerSecond: Int = 1_000) {
        self.server = server
        let origin = origin
        limiters = (0..<instances).map { rank in
            var limiter = RateLimiter(requestsPerSecond: requestsPerSecond, now: origin)
            limiter.share(among: ClusterShare(liveInstances: instances, rank: rank), pausedUntil: nil)
            return limiter
        }
        var workers = (0..<instances).flatMap { instance in
            Array(repeating: (instance: instance, at: Duration.zero, step: Step.ask), count: workersPerInstance)
        }
        if instances > 1 {
            workers += (0..<instances).map { (instance: $0, at: .milliseconds(100 * $0), step: .heartbeat) }
        }
        self.workers = workers
    }

    /// 2 to 20 ms, pseudo-random.
    private mutating func latency() -> Duration {
        random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return .seconds(0.002 + Double(random >> 33) / Double(1 << 31) * 0.018)
    }

    /// Runs until `seconds`, counting the answers of requests that reach the server after `measuringFrom`.
    mutating func run(seconds: Double, measuringFrom: Double) -> Result {
        run(until: { t, _ in t >= seconds }, counting: { $0 >= measuringFrom })
    }

    /// Runs until `requests` were answered (not 429); `seconds` is when the last head arrived.
    mutating func run(requests: Int) -> Result {
        run(until: { _, result in result.answered >= requests }, counting: { _ in true })
    }

    private mutating func run(until done: (Double, Result) -> Bool, counting: (Double) -> Bool) -> Result {
        var result = Result()
        for _ in 0..<2_000_000 {
            let index = workers.indices.min { workers[$0].at < workers[$1].at }!
            let (instance, now, step) = workers[index]
            let t = now.seconds
            if done(t, result) { return result }
            switch step {
            case .ask:
                switch limiters[instance].acquire(now: origin.advanced(by: now)) {
                case .proceed(let ticket): workers[index] = (instance, now + latency() / 2, .reachServer(ticket))
                case .wait(let until): workers[index] = (instance, max(now, origin.duration(to: until)), .ask)
                }
            case .heartbeat:
                let paused = limiters.compactMap(\.apiPausedUntil).max()
                limiters[instance].share(
                    among: ClusterShare(liveInstances: limiters.count, rank: instance), pausedUntil: paused)
                workers[index] = (instance, now + .seconds(1), .heartbeat)
            case .reachServer(let ticket):
                let answer = server.take(at: t)
                if counting(t) {
                    if answer.allowed { result.answered += 1 } else { result.rateLimited += 1 }
                }
                let headAt = now + latency() / 2
                let headWall = wall + headAt.milliseconds
                let info = RateLimitInfo(
                    limit: server.capacity, remaining: answer.remaining,
                    resetAtMs: headWall + Int64(answer.reset) * 1000,
                    retryAtMs: answer.allowed ? nil : headWall + Int64(answer.reset) * 1000)
                workers[index] = (instance, headAt, .head(ticket, info, rateLimited: !answer.allowed))
            case .head(let ticket, let info, let rateLimited):
                limiters[instance].observe(
                    ticket, info, rateLimited: rateLimited, now: origin.advanced(by: now),
                    wallNowMs: wall + now.milliseconds)
                result.seconds = t
                workers[index] = (instance, now + latency() / 4, .ask)
            }
        }
        let last = workers.map(\.at).min() ?? .zero
        Issue.record(
            "the simulation made no progress: \(result), at \(last) s, \(workers.map { "\($0.step)" }.prefix(4))")
        return result
    }
}
