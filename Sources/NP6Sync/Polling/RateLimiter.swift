import NP6Client
import NP6Model

/// The pacing decisions for requests to the API, as a pure state machine over a clock's instants.
///
/// - A token bucket starts at most `rate` requests per second (bursts of a quarter second).
/// - `X-RateLimit-Limit` with the reset period it implies caps the rate below the server's limit,
///   and `X-RateLimit-Remaining: 0` pauses everyone until the reset: a 429 is avoided, not met.
/// - A 429 pauses everyone until `Retry-After` / the reset (at least a second) and halves the
///   rate; the rate then recovers by a twentieth of the configured rate per second (from half
///   to all of it in 10 s). A `Retry-After` on another answer (a 503) pauses everyone until then.
public struct RateLimiter<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    public enum Decision: Sendable, Equatable {
        case proceed
        case wait(until: Instant)
    }

    public let configuredRate: Double
    /// The rate in force now, after 429s and the server's stated limit.
    public private(set) var rate: Double
    /// How many pauses the API imposed (429s and exhausted budgets).
    public private(set) var pauses = 0
    private var tokens: Double
    private var refilledAt: Instant
    private var pausedUntil: Instant?
    /// The server's limit per reset period, as far as its headers tell.
    private var serverLimit: Double?
    private var longestResetSeconds: Double = 0
    /// When the answer to the first request of the server's current window arrived.
    private var windowOpenedAt: Instant?
    private static var recoveryPerSecond: Double { 0.05 }

    public init(requestsPerSecond: Int, now: Instant) {
        configuredRate = Double(max(1, requestsPerSecond))
        rate = configuredRate
        tokens = 1
        refilledAt = now
    }

    var burst: Double { max(1, rate / 4) }

    /// Whether a request may start now; if not, when to ask again.
    public mutating func acquire(now: Instant) -> Decision {
        if let pausedUntil, pausedUntil > now { return .wait(until: pausedUntil) }
        let elapsed = max(0, refilledAt.duration(to: now).seconds)
        rate = min(ceiling, rate + configuredRate * Self.recoveryPerSecond * elapsed)
        tokens = min(burst, tokens + elapsed * rate)
        refilledAt = now
        if tokens >= 1 {
            tokens -= 1
            return .proceed
        }
        return .wait(until: now.advanced(by: .seconds((1 - tokens) / rate)))
    }

    /// Takes in a response: its rate-limit headers, and whether it was a 429.
    ///
    /// - Parameter wallNowMs: the wall clock at `now`, to turn the headers' times into waits.
    public mutating func observe(_ info: RateLimitInfo?, rateLimited: Bool, now: Instant, wallNowMs: Int64) {
        if let info, let limit = info.limit, limit > 0, let resetAtMs = info.resetAtMs {
            longestResetSeconds = max(longestResetSeconds, Double(max(0, resetAtMs - wallNowMs)) / 1000)
            serverLimit = Double(limit)
            rate = min(rate, ceiling)
        }
        if rateLimited {
            rate = max(1, rate / 2)
            tokens = min(tokens, 0)
            let waitMs = max(1000, (info?.pauseUntilMs ?? 0) - wallNowMs)
            pause(until: now.advanced(by: .milliseconds(min(waitMs, 3_600_000))))
        } else if let retryAtMs = info?.retryAtMs, retryAtMs > wallNowMs {
            // A `Retry-After` on another answer (a 503): nobody asks before then; the rate stays.
            pause(until: now.advanced(by: .milliseconds(min(retryAtMs - wallNowMs, 3_600_000))))
        } else if let info, info.remaining == 0, let resetAtMs = info.resetAtMs, resetAtMs > wallNowMs {
            var until = now.advanced(by: .milliseconds(min(resetAtMs - wallNowMs, 3_600_000)))
            // A reset in whole seconds is rounded up: up to a second too late. When the window's
            // first answer was seen, its end is known better: one period after that answer
            // (never early, as the window opened before its first answer arrived).
            if let opened = windowOpenedAt, let period = resetPeriodSeconds {
                until = min(until, opened.advanced(by: .seconds(period)))
            }
            if until > now { pause(until: until) }
        }
        if let info, let limit = info.limit, info.remaining == limit - 1 {
            windowOpenedAt = now
        }
    }

    /// The server's reset period, as the longest reset it announced (whole seconds).
    private var resetPeriodSeconds: Double? {
        longestResetSeconds > 0 ? max(1, longestResetSeconds.rounded(.up)) : nil
    }

    /// The configured rate, or 95% of the server's limit spread over its reset period when lower.
    private var ceiling: Double {
        guard let serverLimit, let period = resetPeriodSeconds else { return configuredRate }
        return min(configuredRate, max(1, serverLimit / period * 0.95))
    }

    /// Holds every request until `instant` for a reason of our own (a wrong `api.baseURL`): no
    /// rate change, not counted as a pause the API imposed.
    public mutating func hold(until instant: Instant) {
        if pausedUntil.map({ instant > $0 }) ?? true { pausedUntil = instant }
    }

    private mutating func pause(until instant: Instant) {
        if pausedUntil.map({ instant > $0 }) ?? true {
            pausedUntil = instant
            pauses += 1
        }
    }
}
