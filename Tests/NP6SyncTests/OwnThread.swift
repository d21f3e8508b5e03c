import Foundation

/// Runs `body`, which blocks (a receive, a read), on a thread of its own and returns its result.
///
/// Not on the concurrency pool, whose few threads the code under test needs, nor on
/// `DispatchQueue.global()`, which on Linux also has about one thread per core and serves
/// swift-subprocess and timers: a blocked one there stalls them.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
