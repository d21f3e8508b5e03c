import SyncStore
import Synchronization

/// How the sinks of one database are shared between instances (PostgreSQL), on the terms of an
/// `InstanceLease`: each sink is delivered by the one instance that holds its lease.
///
/// A loop claims its sink's lease before delivering and renews it every third of `durationMs`,
/// also while a batch is out; an instance that does not hold it asks again about every second
/// (at the renew cadence when that is shorter). A loop that lost its lease (its holder paused
/// past it and another took over) delivers nothing more, and its late cursor writes are fenced
/// by the lease token; it gives the lease up when it stops. A dead instance renews nothing:
/// after `durationMs` another takes the sink over from its cursor. At least once, in `seq` order.
extension InstanceLease {
    /// How often the holder of a sink's lease renews it.
    var renewEveryMs: Int64 { max(500, durationMs / 3) }
    /// How often an instance without a sink's lease asks for it again.
    var retryEveryMs: Int64 { min(1000, renewEveryMs) }
}

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
