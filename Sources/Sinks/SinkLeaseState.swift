import Synchronization

/// What a delivery loop knows of its sink's lease: the token, and until when it holds by the
/// local clock (counted from before the claim was sent, so never later than the database's).
final class SinkLeaseState: Sendable {
    private struct Held {
        var token: Int64
        var untilMs: Int64
    }

    private let held = Mutex<Held?>(nil)

    /// The token while the lease is held at `nowMs`; `nil` when it is not (or has run out
    /// because it could not be renewed).
    func token(nowMs: Int64) -> Int64? {
        held.withLock { held in held.flatMap { $0.untilMs > nowMs ? $0.token : nil } }
    }

    /// Records the outcome of a claim; returns the token held before, if any, even one that
    /// has run out meanwhile (a paused instance finds it lost when it resumes).
    @discardableResult
    func update(token: Int64?, untilMs: Int64) -> Int64? {
        held.withLock { held in
            let before = held?.token
            held = token.map { Held(token: $0, untilMs: untilMs) }
            return before
        }
    }
}
