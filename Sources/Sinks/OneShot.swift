import Synchronization
import Config
import NP6Model
import SyncStore

/// A value set once and awaited by any number of tasks: a child process's exit, a loop's end.
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

    var value: Value? { state.withLock { $0.value } }

    /// The value, once set; `nil` if the task is cancelled first.
    func wait() async -> Value? {
        let id = newWaiterID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                register(id, cancellable: true) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?(nil)
        }
    }

    /// The value, once set, even if the task is cancelled meanwhile: for values that come soon.
    func waitIgnoringCancellation() async -> Value {
        await withCheckedContinuation { continuation in
            register(newWaiterID(), cancellable: false) { continuation.resume(returning: $0!) }
        }
    }

    /// The value, or `nil` when it is not set within `duration`.
    func wait(upTo duration: Duration) async -> Value? {
        if let value { return value }
        return await withTaskGroup(of: Value?.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await Task.sleep(for: duration)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func newWaiterID() -> Int {
        state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
    }

    private func register(_ id: Int, cancellable: Bool, _ resume: @escaping @Sendable (Value?) -> Void) {
        let ready = state.withLock { state -> Value?? in
            if let value = state.value { return .some(value) }
            // Cancelled before we could register: the cancellation handler has already run.
            if cancellable && Task.isCancelled { return .some(nil) }
            state.waiters[id] = resume
            return nil
        }
        if let ready { resume(ready) }
    }
}
