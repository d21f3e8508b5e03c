import NP6Client
import NP6Model
import SyncStore

/// The pacing decisions for requests to the API, as a pure state machine over a clock's instants.
///
/// Two limits apply, and the tighter one wins:
///
/// - **Ours**, `api.requestsPerSecond`: a token bucket of a quarter second's burst. A 429 halves
///   it (from the server's rate, when that is lower); it then recovers by a twentieth of that
///   rate per second, from half to all of it in 10 s.
/// - **The server's**, as its `X-RateLimit-*` headers say. What `Remaining` leaves, less the
///   requests still unanswered, is spent at once. Then, read as a **fixed window** (until shown
///   otherwise): nothing more until the window ends, at the earliest of its answers' arrival plus
///   `Reset` (`Reset` is rounded up to a second, so the earliest is the closest); at the end one
///   request goes alone, and its answer opens the next budget (as does an answer handled after the
///   anchor that leaves more than it). When that probe's answer finds less than a full budget,
///   the server refills gradually: a **token bucket**, whose rate is `Limit` over the
///   longest `Reset` seen in this window and the one before (the time to fill the whole bucket),
///   and requests are paced by it, each answer correcting the count. `Remaining: 0` without
///   `Reset` waits one second; a `Reset` more than an hour ahead is not believed (as none).
/// - A 429 pauses everyone until `Retry-After` / the reset (at least a second), and the server's
///   budget is read as a fixed window again. A `Retry-After` on another answer (a 503) pauses
///   everyone until then; the rates stay.
/// - **Several instances** on one database share the key's limit (``share(among:pausedUntil:)``):
///   each takes its share of our rate, sends at most its share of a fixed window's `Limit` in
///   the window (counting its own requests: the others' show in `Remaining` only once handled),
///   paces by its share of a token bucket's refill, and a pause the API imposed on one holds all.
///
/// Each request that may start gets a ticket; the answer to it (its head: the headers arrive
/// before the body) is given back with the ticket, so that the budget counts what is still in
/// flight, and an answer to a request of a window that is over is not read as this one's.
public struct RateLimiter<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    public enum Decision: Sendable, Equatable {
        case proceed(RequestTicket)
        case wait(until: Instant)
    }

    /// What the server's headers said, as of one answer (the anchor).
    private struct ServerBudget: Sendable {
        var limit: Int
        /// `Remaining` in the anchor, and when the anchor arrived.
        var remaining: Int
        var anchoredAt: Instant
        /// The first ticket given after the anchor arrived: that request was handled after it.
        var ticketsBeforeAnchor: Int
        /// The first request of the current window: answers to earlier ones belong to an older one.
        var windowOpenedBy: RequestTicket
        /// When the current fixed window ends at the latest.
        var windowEnd: Instant
        /// Whether this window's exhaustion was counted as a pause.
        var exhaustionCounted = false
    }

    /// `api.requestsPerSecond`: the whole cluster's.
    public let configuredRate: Double
    /// How many instances share the API's limit, this one included, and this one's rank.
    public private(set) var cluster = ClusterShare(liveInstances: 1)
    private var instances: Int { cluster.liveInstances }
    /// Our own rate in force now, after 429s.
    public private(set) var rate: Double
    /// How many pauses the API imposed: 429s, `Retry-After`s and fixed windows used up.
    public private(set) var pauses = 0
    /// Whether the server was found to refill gradually (a token bucket).
    public private(set) var refillsGradually = false
    private var tokens: Double
    private var refilledAt: Instant
    private var pausedUntil: Instant?
    /// Until when the API told this instance to pause (429, `Retry-After`): the others hold too.
    public private(set) var apiPausedUntil: Instant?
    private var server: ServerBudget?
    /// Whether any answer arrived: until one does, requests go one at a time.
    private var answered = false
    private var nextTicket = 0
    /// The requests without an answer yet, each with how many were in flight when it started.
    private var unanswered: [RequestTicket: Int] = [:]
    /// The request that asks alone for a new window's budget, and how many were in flight beside it.
    private var probe: RequestTicket?
    /// The longest `Reset` seen in the current window and in the one before, in whole seconds: a
    /// fixed window's length, a bucket's filling time. Older windows are forgotten, so that one
    /// odd answer slows nothing for good.
    private var periodSeconds: Double { max(longestResetThisWindow, longestResetLastWindow) }
    private var longestResetThisWindow: Double = 0
    private var longestResetLastWindow: Double = 0
    /// A `Reset` further ahead is not understood (an epoch in microseconds read as milliseconds,
    /// a clock gone wrong): it is neither a period nor a window's end. Waits are capped there too.
    static var longestPlausibleResetMs: Int64 { 3_600_000 }
    private static var recoveryPerSecond: Double { 0.05 }
    /// How soon to ask again while waiting for an answer rather than for a time.
    private static var recheck: Duration { .milliseconds(5) }
    /// How long `Remaining: 0` without `Reset` holds every request.
    static var pauseWithoutReset: Duration { .seconds(1) }
    /// Added to a window's end: the answer's arrival is read in whole milliseconds, which can put
    /// the end up to a millisecond early, and a probe sent early meets a 429.
    private static var windowEndMargin: Duration { .milliseconds(2) }

    public init(requestsPerSecond: Int, now: Instant) {
        configuredRate = Double(max(1, requestsPerSecond))
        rate = configuredRate
        tokens = max(1, configuredRate / 4)
        refilledAt = now
    }

    var burst: Double { max(1, rate / 4) }

    /// How many requests were allowed to start and have no answer yet.
    public var inFlight: Int { unanswered.count }

    /// The server's rate as its headers tell: `Limit` over the longest `Reset`; this instance's share.
    private var serverRate: Double? {
        guard let server, periodSeconds > 0 else { return nil }
        return Double(server.limit) / periodSeconds / Double(instances)
    }

    /// This instance's share of `api.requestsPerSecond`: its part of the whole requests, as a
    /// fixed window's `Limit` is divided (5/s among two: 3 and 2), or an equal fraction when
    /// there are fewer than instances.
    private var sharedRate: Double {
        let whole = Int(configuredRate)
        return whole >= instances ? Double(cluster.part(of: whole)) : configuredRate / Double(instances)
    }

    /// The rate a 429 halves and recovery returns to: ours, or the server's when lower.
    private var fullRate: Double { min(sharedRate, serverRate ?? sharedRate) }

    /// This instance's share of what the server's headers leave.
    private func share(_ remaining: Double) -> Double { remaining / Double(instances) }

    /// Takes the cluster's news from a heartbeat: `instances` share the limit from now on (our
    /// rate and what the server's headers leave are divided among them), and `pausedUntil`, a
    /// pause the API imposed on one of them, holds this one too.
    public mutating func share(among cluster: ClusterShare, pausedUntil: Instant?) {
        let before = sharedRate
        self.cluster = cluster
        if sharedRate != before {
            rate *= sharedRate / before
            tokens = min(tokens, burst)
        }
        if let pausedUntil { pause(until: pausedUntil) }
    }

    /// Whether a request may start now (with its ticket); if not, when to ask again.
    public mutating func acquire(now: Instant) -> Decision {
        if let pausedUntil, pausedUntil > now { return .wait(until: pausedUntil) }
        let elapsed = max(0, refilledAt.duration(to: now).seconds)
        rate = min(sharedRate, rate + fullRate * Self.recoveryPerSecond * elapsed)
        tokens = min(burst, tokens + elapsed * rate)
        refilledAt = now
        if tokens < 1 {
            // A microsecond more, so that rounding never leaves the token a hair short at the wake-up.
            return .wait(until: now.advanced(by: .seconds((1 - tokens) / rate) + .microseconds(1)))
        }
        let isProbe: Bool
        switch serverDecision(now: now) {
        case .wait(let instant): return .wait(until: instant)
        case .go: isProbe = false
        case .probe: isProbe = true
        }
        tokens -= 1
        let ticket = RequestTicket(number: nextTicket)
        nextTicket += 1
        if isProbe { probe = ticket }
        unanswered[ticket] = unanswered.count
        return .proceed(ticket)
    }

    private enum ServerDecision {
        case go
        case probe
        case wait(Instant)
    }

    private mutating func serverDecision(now: Instant) -> ServerDecision {
        guard var server else {
            // Nothing heard yet: one request asks first (and without headers, nothing holds back).
            if answered { return .go }
            return probe == nil ? .probe : .wait(now.advanced(by: Self.recheck))
        }
        let inFlight = Double(unanswered.count)
        if refillsGradually, let serverRate {
            let since = max(0, server.anchoredAt.duration(to: now).seconds)
            // Our share of the bucket, but at least a request: with fewer tokens than instances,
            // each still gets its turn as its share of the refill comes.
            let capacity = max(1, share(Double(server.limit)))
            let available = min(capacity, share(Double(server.remaining)) + serverRate * since) - inFlight
            if available >= 1 { return .go }
            // All of our share of the bucket is in flight: only an answer tells more.
            if inFlight + 1 > capacity { return .wait(now.advanced(by: Self.recheck)) }
            let needed = 1 + inFlight - share(Double(server.remaining))
            // A microsecond more, so that rounding never leaves the token a hair short at the wake-up.
            let refilled = server.anchoredAt.advanced(by: .seconds(needed / serverRate) + .microseconds(1))
            // Requests in flight count as spent until answered, which may be sooner than the refill.
            if inFlight > 0 { return .wait(min(refilled, now.advanced(by: Self.recheck))) }
            return .wait(max(now.advanced(by: .microseconds(1)), refilled))
        }
        // A fixed window: what `Remaining` leaves, and no more than this instance's share of the
        // window (its own count, exact where the others' requests are known only late).
        let ownLeft = Double(max(1, cluster.part(of: server.limit)) - sentInWindow(server))
        if min(Double(server.remaining) - inFlight, ownLeft) >= 1 { return .go }
        // Budget left, but all of it in flight: the answers tell whether any is still free.
        if server.remaining > 0, inFlight > 0 { return .wait(now.advanced(by: Self.recheck)) }
        if now < server.windowEnd {
            if !server.exhaustionCounted {
                server.exhaustionCounted = true
                self.server = server
                pauses += 1
            }
            return .wait(server.windowEnd)
        }
        // The window has ended: one request asks for the new budget, the others wait for its answer.
        return probe == nil ? .probe : .wait(now.advanced(by: Self.recheck))
    }

    /// The requests this instance sent since the current window opened, its opener included.
    private func sentInWindow(_ server: ServerBudget) -> Int { nextTicket - server.windowOpenedBy.number }

    /// Takes in the answer to `ticket` (its head): its rate-limit headers, and whether it was a 429.
    ///
    /// - Parameter wallNowMs: the wall clock at `now`, to turn the headers' times into waits.
    public mutating func observe(
        _ ticket: RequestTicket, _ info: RateLimitInfo?, rateLimited: Bool, now: Instant, wallNowMs: Int64
    ) {
        answered = true
        let isProbe = probe == ticket
        if isProbe { probe = nil }
        // The requests that may have reached the server before this one: those in flight when
        // it started, and those started since (requests overtake each other).
        let before = (unanswered.removeValue(forKey: ticket) ?? 0) + (nextTicket - ticket.number - 1)
        func instant(atWallMs ms: Int64) -> Instant { Self.instant(atWallMs: ms, now: now, wallNowMs: wallNowMs) }
        let resetAtMs = info?.resetAtMs.flatMap { $0 - wallNowMs <= Self.longestPlausibleResetMs ? $0 : nil }
        defer {
            // After a window this answer opened, if it did: its reset counts in the new one.
            if let resetAtMs {
                let seconds = max(1, (Double(resetAtMs - wallNowMs) / 1000).rounded(.up))
                longestResetThisWindow = max(longestResetThisWindow, seconds)
            }
        }
        if rateLimited {
            rate = max(1, fullRate / 2)
            tokens = min(tokens, 0)
            let until = now.advanced(
                by: .milliseconds(min(max(1000, (info?.pauseUntilMs ?? 0) - wallNowMs), 3_600_000)))
            pause(until: until, imposed: true)
            // Whatever the server is, nothing is left until then; a single request asks after it.
            refillsGradually = false
            startWindow()
            server = ServerBudget(
                limit: info?.limit ?? server?.limit ?? 1, remaining: 0, anchoredAt: now,
                ticketsBeforeAnchor: nextTicket,
                windowOpenedBy: RequestTicket(number: nextTicket), windowEnd: until)
            return
        }
        if let retryAtMs = info?.retryAtMs, retryAtMs > wallNowMs {
            // A `Retry-After` on another answer (a 503): nobody asks before then; the rates stay.
            pause(until: instant(atWallMs: retryAtMs), imposed: true)
        }
        guard let info, let remaining = info.remaining else { return }
        let limit = max(1, info.limit ?? max(server?.limit ?? 1, remaining + 1))
        let windowEnd =
            resetAtMs.map { instant(atWallMs: $0).advanced(by: Self.windowEndMargin) }
            ?? now.advanced(by: Self.pauseWithoutReset)
        let opened = ServerBudget(
            limit: limit, remaining: remaining, anchoredAt: now, ticketsBeforeAnchor: nextTicket,
            windowOpenedBy: ticket,
            windowEnd: windowEnd)
        guard var current = server else {
            startWindow()
            server = opened
            return
        }
        if isProbe {
            // Less than a fresh fixed window would leave (the least: all of `before` in it
            // first) in the answer that opens a window means a gradual refill, when this
            // instance is alone on the key (the others' requests lower it too).
            if instances == 1, remaining < limit - 1 - before { refillsGradually = true }
            startWindow()
            server = opened
            return
        }
        if ticket < current.windowOpenedBy { return }  // from a window that is over
        // Read as a fixed window, more left than the anchor, though handled after it, is a new
        // window: the server's rolled over under a request sent near the end, or one read late
        // (a stalled process), or another instance's request opened it. It is not read as a
        // refill: a single daemon that did so paced a fixed window as a bucket and met 429s
        // (benchmarks/RESULTS.md, S5). A token bucket read so still gives its rate: its budget
        // spent at once, then its reset, the time to refill it, awaited.
        if !refillsGradually, ticket.number >= current.ticketsBeforeAnchor, remaining > current.remaining {
            startWindow()
            server = opened
            return
        }
        // Reset is rounded up: the earliest end any answer of the window implies is the closest.
        current.windowEnd = min(current.windowEnd, windowEnd)
        current.limit = limit
        // An answer that leaves no more than the anchor does now is the better anchor. One that
        // leaves more was handled before the anchor (requests overtake each other), or the
        // bucket refilled faster than its headers tell: the anchor stays, the lower estimate.
        let gained =
            refillsGradually
            ? (serverRate ?? 0) * max(0, current.anchoredAt.duration(to: now).seconds) : 0
        if Double(remaining) <= Double(current.remaining) + gained {
            current.remaining = remaining
            current.anchoredAt = now
            current.ticketsBeforeAnchor = nextTicket
        }
        server = current
    }

    /// A new window of the server's budget opens: the resets of the one before it are the oldest kept.
    private mutating func startWindow() {
        longestResetLastWindow = longestResetThisWindow
        longestResetThisWindow = 0
    }

    /// The instant of a wall-clock time (ms) the API or another instance named, read against
    /// `now`; never in the past, never more than an hour ahead.
    static func instant(atWallMs ms: Int64, now: Instant, wallNowMs: Int64) -> Instant {
        now.advanced(by: .milliseconds(min(max(0, ms - wallNowMs), 3_600_000)))
    }

    /// Ends `ticket`'s request; a no-op when its answer was observed. One that ended without an
    /// answer (a refused connection, a timeout before the head) may have reached the server: it
    /// counts as spent until an answer tells the budget again, and when it was asking alone for a
    /// window's budget, another request may.
    public mutating func finish(_ ticket: RequestTicket) {
        guard unanswered.removeValue(forKey: ticket) != nil else { return }
        if probe == ticket { probe = nil }
        if var server, ticket >= server.windowOpenedBy {
            server.remaining -= 1
            self.server = server
        }
    }

    /// Holds every request until `instant` for a reason of our own (a wrong `api.baseURL`): no
    /// rate change, not counted as a pause the API imposed.
    public mutating func hold(until instant: Instant) {
        if pausedUntil.map({ instant > $0 }) ?? true { pausedUntil = instant }
    }

    /// Pauses every request until `instant`; `imposed` when the API said so to this instance.
    private mutating func pause(until instant: Instant, imposed: Bool = false) {
        if imposed, apiPausedUntil.map({ instant > $0 }) ?? true { apiPausedUntil = instant }
        if pausedUntil.map({ instant > $0 }) ?? true {
            pausedUntil = instant
            pauses += 1
        }
    }
}
