import NP6Client

/// An instant of the pacer's clock, held as the time since the pacer was made: one concrete
/// instant type for its `RateLimiter`, whatever clock was injected.
struct PacerInstant: InstantProtocol {
    var sinceStart: Duration

    func advanced(by duration: Duration) -> PacerInstant { PacerInstant(sinceStart: sinceStart + duration) }
    func duration(to other: PacerInstant) -> Duration { other.sinceStart - sinceStart }
    static func < (lhs: PacerInstant, rhs: PacerInstant) -> Bool { lhs.sinceStart < rhs.sinceStart }
}
