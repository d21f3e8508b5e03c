import Synchronization

/// The world's one clock: everything the engine waits on, and the wall clocks it reads.
///
/// A sleep moves time to its deadline at once. That is exact, and costs no real time, while one
/// task at a time sleeps on it: the simulator runs the engine so that this holds (one request
/// at a time, in-pass retries off, the sinks and the write queue on clocks of their own), and
/// checks it (``concurrentSleeps``). Unlike `ManualClock`, no driver has to wait in real time
/// for the sleepers to register.
///
/// Two wall clocks read it: the API's (the true time, which stamps events and `Date` headers)
/// and the local one the engine reads (`wallNowMs`), which runs ``localOffsetMs`` ahead and
/// jumps when the world steps it.
public final class SimulationClock: Clock, Sendable {
    public struct Instant: InstantProtocol, CustomStringConvertible {
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public var description: String { "+\(offset)" }
    }

    private struct State {
        var now = Instant(offset: .zero)
        var localOffsetMs: Int64 = 0
        var sleeping = 0
        var concurrentSleeps = 0
    }

    private let state = Mutex(State())
    /// The API's wall clock at the start, ms since 1970.
    public let wallStartMs: Int64

    public init(wallStartMs: Int64) { self.wallStartMs = wallStartMs }

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// Sleeps that began while another was under way: each is a place where the order of two
    /// tasks could change the outcome. The simulator reports them.
    public var concurrentSleeps: Int { state.withLock { $0.concurrentSleeps } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        state.withLock { state in
            if state.sleeping > 0 { state.concurrentSleeps += 1 }
            state.sleeping += 1
            if deadline > state.now { state.now = deadline }
        }
        defer { state.withLock { $0.sleeping -= 1 } }
        await Task.yield()
        try Task.checkCancellation()
    }

    /// Time passing in the world (between passes, or while the API answers).
    public func advance(by duration: Duration) {
        state.withLock { $0.now = $0.now.advanced(by: duration) }
    }

    /// The true time (the API's clock), ms since 1970.
    public var trueNowMs: Int64 { wallStartMs + Self.milliseconds(now.offset) }

    /// The local wall clock the engine reads: the true time plus ``localOffsetMs``.
    public var wallNowMs: Int64 {
        state.withLock { wallStartMs + Self.milliseconds($0.now.offset) + $0.localOffsetMs }
    }

    /// How far the local clock is ahead of the API's (negative: behind).
    public var localOffsetMs: Int64 {
        get { state.withLock { $0.localOffsetMs } }
        set { state.withLock { $0.localOffsetMs = newValue } }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    }
}
