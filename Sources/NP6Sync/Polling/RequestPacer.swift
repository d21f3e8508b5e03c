import NP6Client
import NP6Model
import SyncStore

/// Paces every request of the process through one `RateLimiter`, sleeping on its clock (the
/// continuous clock; tests pass a manual one).
public actor RequestPacer {
    private var limiter: RateLimiter<PacerInstant>
    private let now: @Sendable () -> PacerInstant
    private let sleep: @Sendable (_ until: PacerInstant) async throws -> Void
    private let wallNowMs: @Sendable () -> Int64

    public init(
        requestsPerSecond: Int,
        wallNowMs: @escaping @Sendable () -> Int64,
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        let timeline = Self.timeline(clock)
        limiter = RateLimiter(requestsPerSecond: requestsPerSecond, now: timeline.now())
        now = timeline.now
        sleep = timeline.sleep
        self.wallNowMs = wallNowMs
    }

    /// How many pauses the API imposed so far.
    public var pauses: Int { limiter.pauses }

    /// Waits until a request may start. Throws `CancellationError` when the task is cancelled.
    public func acquire() async throws -> RequestTicket {
        while true {
            switch limiter.acquire(now: now()) {
            case .proceed(let ticket): return ticket
            case .wait(let instant): try await sleep(instant)
            }
        }
    }

    /// Holds every request for `duration` (a wrong `api.baseURL`: ask again on the next interval).
    public func hold(for duration: Duration) {
        limiter.hold(until: now().advanced(by: duration))
    }

    /// Takes in what the answer to `ticket` said about the rate limit, as soon as its head arrives.
    public func observe(_ ticket: RequestTicket, _ info: RateLimitInfo?, rateLimited: Bool) {
        limiter.observe(ticket, info, rateLimited: rateLimited, now: now(), wallNowMs: wallNowMs())
    }

    /// Until when the API told this instance to pause (a 429's `Retry-After` or reset), in wall
    /// milliseconds, while that is ahead: what the heartbeat tells the other instances.
    public func imposedPauseUntilMs() -> Int64? {
        guard let until = limiter.apiPausedUntil else { return nil }
        let ahead = now().duration(to: until)
        guard ahead > .zero else { return nil }
        return wallNowMs() + Int64((ahead.seconds * 1000).rounded(.up))
    }

    /// Takes the cluster's share from a heartbeat: the live instances divide the limit, and a
    /// pause the API imposed on one of them holds this one too.
    public func share(_ cluster: ClusterShare) {
        let (now, wallNowMs) = (now(), wallNowMs())
        let pausedUntil = cluster.rateLimitedUntilMs.map {
            RateLimiter.instant(atWallMs: $0, now: now, wallNowMs: wallNowMs)
        }
        limiter.share(among: cluster, pausedUntil: pausedUntil)
    }

    /// Ends `ticket`'s request; a no-op when its answer was observed.
    public func finish(_ ticket: RequestTicket) {
        limiter.finish(ticket)
    }

    /// Reads `clock` as the time since now, and sleeps on it until such a time.
    private static func timeline<C: Clock<Duration>>(
        _ clock: C
    ) -> (now: @Sendable () -> PacerInstant, sleep: @Sendable (PacerInstant) async throws -> Void) {
        let origin = clock.now
        return (
            { PacerInstant(sinceStart: origin.duration(to: clock.now)) },
            { try await clock.sleep(until: origin.advanced(by: $0.sinceStart), tolerance: nil) }
        )
    }
}
