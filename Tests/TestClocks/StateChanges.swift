import Dispatch
import Synchronization

/// A condition a test waits for without polling: what changes the state the test looks at calls
/// ``signal()``, and ``wait(until:timeout:)`` looks again after each signal.
///
/// ```swift
/// let changes = StateChanges()
/// recorder.onChange = { changes.signal() }
/// try await changes.wait { recorder.completed == 5 }
/// ```
///
/// ``ManualClock`` signals its own (``ManualClock/changes``) whenever a task starts or stops
/// sleeping on it: code under test that has done what it can goes to sleep on its clock, so a
/// test that waits on the clock's changes looks again exactly when something may have happened.
/// The wait is bounded in real time only so that a test whose condition never holds fails
/// instead of hanging; the timeout never decides a passing outcome.
public final class StateChanges: Sendable {
    /// The condition did not hold within the timeout.
    public struct Timeout: Error, CustomStringConvertible {
        public let waited: Duration
        public var description: String { "the awaited condition did not hold within \(waited) of real time" }
    }

    private struct State {
        var generation = 0
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Something changed: every waiter looks at its condition again.
    public func signal() {
        let waiters = state.withLock { state in
            state.generation += 1
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume(returning: true) }
    }

    /// Waits until `condition` holds: checks it now and again after each ``signal()``.
    ///
    /// - Parameter timeout: real time after which it gives up; `nil` waits until cancelled.
    /// - Throws: ``Timeout``, `CancellationError`, or what `condition` throws.
    public func wait(
        timeout: Duration? = .seconds(60), until condition: () async throws -> Bool
    ) async throws {
        let giveUp = timeout.map { DispatchTime.now() + .nanoseconds(Int($0 / .nanoseconds(1))) }
        while true {
            let seen = state.withLock { $0.generation }
            if try await condition() { return }
            // Also between signals that keep coming: a condition that never holds fails in time.
            let gaveUp = giveUp.map { DispatchTime.now() >= $0 } ?? false
            guard !gaveUp, await next(after: seen, giveUp: giveUp) else { throw Timeout(waited: timeout ?? .zero) }
            try Task.checkCancellation()
        }
    }

    /// Returns `true` at the first signal after `generation` (at once if there was one, or when
    /// the task is cancelled), `false` when `giveUp` comes first.
    private func next(after generation: Int, giveUp: DispatchTime?) async -> Bool {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let waiting = state.withLock { state in
                    guard state.generation == generation, !Task.isCancelled else { return false }
                    state.waiters[id] = continuation
                    return true
                }
                guard waiting else { return continuation.resume(returning: true) }
                if let giveUp {
                    // A timer, not a sleep: it only ends a wait that would otherwise hang.
                    DispatchQueue.global().asyncAfter(deadline: giveUp) { [self] in
                        state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
                    }
                }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: true)
        }
    }
}
