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
        /// The waits whose timeout has passed.
        var expired: Set<Int> = []
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
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        // One timer for the whole wait, not one per look (a wait may look thousands of times),
        // cancelled when it ends. A timer, not a sleep: it only ends a wait that would hang.
        let timer = timeout.map { timeout in
            let timer = DispatchWorkItem { [self] in
                let waiter = state.withLock { state in
                    state.expired.insert(id)
                    return state.waiters.removeValue(forKey: id)
                }
                waiter?.resume(returning: false)
            }
            DispatchQueue.global().asyncAfter(
                deadline: .now() + .nanoseconds(Int(timeout / .nanoseconds(1))), execute: timer)
            return timer
        }
        defer {
            timer?.cancel()
            state.withLock { _ = $0.expired.remove(id) }
        }
        while true {
            let seen = state.withLock { $0.generation }
            if try await condition() { return }
            guard await next(after: seen, as: id) else { throw Timeout(waited: timeout ?? .zero) }
            try Task.checkCancellation()
        }
    }

    /// Returns `true` at the first signal after `generation` (at once if there was one, or when
    /// the task is cancelled), `false` once wait `id` has expired.
    private func next(after generation: Int, as id: Int) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now = state.withLock { state -> Bool? in
                    if state.expired.contains(id) { return false }
                    guard state.generation == generation, !Task.isCancelled else { return true }
                    state.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: true)
        }
    }
}
