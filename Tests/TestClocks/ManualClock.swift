import Synchronization

/// A clock whose time moves only when a test moves it, for the code that takes a `Clock`: the
/// poll scheduler, the watchdog, the sink loops' waits and backoff, the write queue's delay and
/// the request pacer.
///
/// ```swift
/// let clock = ManualClock()
/// let queue = PollWriteQueue(pool: pool, clock: clock)
/// await queue.submit(write, for: writes)
/// try await clock.waitForSleepers(1)      // the drainer now waits for its delay
/// clock.advance(by: .milliseconds(100))   // and commits
/// ```
///
/// Why not swift-clocks' `TestClock`: its `advance(by:)` lets sleepers reach their `sleep` by
/// yielding a fixed number of times (`Task.megaYield`), which is a guess. On a two-core machine
/// that other builds and tests keep busy, a task that has not reached its `sleep` yet misses the
/// advance, and the test fails or hangs now and then. Here a test first waits until the sleepers
/// it expects are registered (``waitForSleepers(_:until:timeout:)``), woken by each registration
/// (``changes``), not by polling, then advances: the outcome does not depend on the machine's
/// load, only how long it takes.
public final class ManualClock: Clock, Sendable {
    /// A point on the clock: the time since the clock was made.
    public struct Instant: InstantProtocol, CustomStringConvertible {
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public var description: String { "ManualClock.Instant(\(offset))" }
    }

    /// A real-time wait for sleepers ran out: what the test expected never went to sleep.
    public struct SleepersTimeout: Error, CustomStringConvertible {
        public let expected: Int
        public let sleeping: Int
        public var description: String {
            "waited in vain for \(expected) task(s) to sleep on the manual clock; \(sleeping) did"
        }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())
    /// Signalled whenever a task starts or stops sleeping on the clock: a test waits on it for
    /// a condition about the code that sleeps here (``StateChanges/wait(timeout:until:)``).
    public let changes: StateChanges
    /// The wall-clock time, in milliseconds since 1970, at the clock's start.
    public let wallStartMs: Int64

    /// - Parameter changes: what to signal; several clocks may share one, for a test that
    ///   waits on code sleeping on either.
    public init(wallStartMs: Int64 = 1_700_000_000_000, signalling changes: StateChanges = StateChanges()) {
        self.wallStartMs = wallStartMs
        self.changes = changes
    }

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// Wall-clock milliseconds that move with this clock: for the `nowMs` closures of the code
    /// under test, so that its watermarks and due times agree with its sleeps.
    public var wallNowMs: Int64 {
        let offset = now.offset.components
        return wallStartMs + offset.seconds * 1000 + offset.attoseconds / 1_000_000_000_000_000
    }

    /// Suspends until ``advance(by:)`` or ``advance(to:)`` reaches `deadline`; returns at once
    /// for a deadline already reached. Throws `CancellationError` when the task is cancelled.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let resumeNow { return continuation.resume(with: resumeNow) }
                changes.signal()
            }
        } onCancel: {
            let cancelled = state.withLock { $0.sleepers.removeValue(forKey: id) }
            cancelled?.continuation.resume(throwing: CancellationError())
            if cancelled != nil { changes.signal() }
        }
    }

    /// Moves time forward by `duration` and wakes every sleeper whose deadline has come,
    /// earliest first.
    public func advance(by duration: Duration) {
        advance(to: now.advanced(by: duration))
    }

    /// Moves time forward to `instant` (never back) and wakes every sleeper whose deadline has come.
    public func advance(to instant: Instant) {
        let woken = state.withLock { state -> [Sleeper] in
            guard instant > state.now else { return [] }
            state.now = instant
            let due = state.sleepers.filter { $0.value.deadline <= instant }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in woken { sleeper.continuation.resume() }
        if !woken.isEmpty { changes.signal() }
    }

    /// The deadlines of the tasks sleeping now, earliest first.
    public var sleeperDeadlines: [Instant] {
        state.withLock { $0.sleepers.values.map(\.deadline) }.sorted()
    }

    /// Waits until at least `count` tasks sleep on the clock (until `deadline` only, when
    /// given), so that an advance that follows reaches them; it looks each time a task starts
    /// or stops sleeping.
    ///
    /// - Throws: ``SleepersTimeout`` after `timeout` of real time, so that a test whose code
    ///   never sleeps fails instead of hanging.
    public func waitForSleepers(
        _ count: Int = 1, until deadline: Instant? = nil, timeout: Duration = .seconds(60)
    ) async throws {
        func sleeping() -> Int {
            state.withLock { state in state.sleepers.values.count { deadline == nil || $0.deadline == deadline } }
        }
        do {
            try await changes.wait(timeout: timeout) { sleeping() >= count }
        } catch is StateChanges.Timeout {
            throw SleepersTimeout(expected: count, sleeping: sleeping())
        }
    }
}

extension ManualClock {
    /// Runs `operation` while moving the clock to the earliest deadline whenever a task sleeps on
    /// it: every wait and backoff of the code under test passes at once.
    ///
    /// For code whose waits are not what the test is about (a sink loop's backoff before the
    /// delivery the test checks). Time only moves forward, so a test can still assert how much
    /// of it passed; with several sleepers it may pass a later deadline before a task woken
    /// earlier sleeps again (whose sleep then ends at once).
    public func advancingToEachDeadline<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try await self.changes.wait(timeout: nil) { !self.sleeperDeadlines.isEmpty }
                    if let next = self.sleeperDeadlines.first { self.advance(to: next) }
                }
            }
            defer { group.cancelAll() }
            return try await operation()
        }
    }
}
