import Synchronization

/// A value set once and awaited by any number of tasks: a sink loop's end, which the loop that
/// replaces it on a reload waits for (one loop per sink at a time).
///
/// Hand-written: none of the kept packages has an awaitable one-shot event that needs no event
/// loop (NIO's promises do), and cancellation must release a waiter.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        /// Resumed with the value, or with `nil` when their task is cancelled.
        var waiters: [Int: @Sendable (Value?) -> Void] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Sets the value and wakes the waiters; later calls are ignored.
    func fulfil(_ value: Value) {
        let waiters = state.withLock { state -> [@Sendable (Value?) -> Void] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter(value) }
    }

    /// The value, once set; `nil` if the task is cancelled first.
    func wait() async -> Value? {
        let id = newWaiterID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                register(id) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?(nil)
        }
    }

    private func newWaiterID() -> Int {
        state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
    }

    private func register(_ id: Int, _ resume: @escaping @Sendable (Value?) -> Void) {
        let ready = state.withLock { state -> Value?? in
            if let value = state.value { return .some(value) }
            // Cancelled before we could register: the cancellation handler has already run.
            if Task.isCancelled { return .some(nil) }
            state.waiters[id] = resume
            return nil
        }
        if let ready { resume(ready) }
    }
}
