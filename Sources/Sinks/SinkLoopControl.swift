import NP6Model
import SyncStore
import Synchronization

/// How the supervisor talks to one running delivery loop: wake it for new events, ask it to
/// stop at the next batch boundary, and learn when it has ended.
final class SinkLoopControl: Sendable {
    /// What a waiting loop can be woken for.
    struct Reasons: OptionSet, Sendable {
        let rawValue: Int
        /// New events were stored.
        static let events = Reasons(rawValue: 1)
        /// A stop request.
        static let control = Reasons(rawValue: 2)
        /// The sink's lease was taken (several instances on one database).
        static let lease = Reasons(rawValue: 4)
    }

    private struct State {
        var pending: Reasons = []
        var stopRequested = false
        var waiters: [Int: (reasons: Reasons, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())
    private let finished = OneShot<Void>()
    /// What waits are measured on; tests pass a manual clock.
    let clock: any Clock<Duration>

    init(clock: any Clock<Duration> = ContinuousClock()) {
        self.clock = clock
    }

    /// Set once ``requestStop()`` was called: the loop ends at its next batch boundary.
    var isStopRequested: Bool { state.withLock { $0.stopRequested } }

    /// Wakes the loop if it waits for one of `reasons`, or makes its next such wait return at once.
    func signal(_ reasons: Reasons) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let matching = state.waiters.filter { !$0.value.reasons.isDisjoint(with: reasons) }
            guard !matching.isEmpty else {
                state.pending.formUnion(reasons)
                return []
            }
            for id in matching.keys { state.waiters[id] = nil }
            return matching.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Asks the loop to stop; an in-flight delivery finishes (or times out) first.
    func requestStop() {
        state.withLock { $0.stopRequested = true }
        signal(.control)
    }

    /// Waits `duration`, or less when one of `reasons` is signalled, a stop is requested or
    /// the task is cancelled.
    func wait(for duration: Duration, wakingOn reasons: Reasons) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal(reasons) }
            group.addTask { try? await self.clock.sleep(for: duration) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal(_ reasons: Reasons) async {
        let reasons = reasons.union(.control)
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if state.stopRequested || Task.isCancelled || !state.pending.isDisjoint(with: reasons) {
                        state.pending.subtract(reasons)
                        return true
                    }
                    state.waiters[id] = (reasons, continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    /// Called by the loop as it ends.
    func markFinished() { finished.fulfil(()) }

    /// Returns once the loop has ended (or the task is cancelled).
    func waitUntilFinished() async { _ = await finished.wait() }
}
