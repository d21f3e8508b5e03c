import SyncStore
import Synchronization

/// The contact leases this instance holds on a database it shares with others (PostgreSQL):
/// those its polls claimed and those the start-up API check claimed. The heartbeat renews every
/// one of them (`PollScheduler`), and a request for a contact goes out only while its lease
/// has more than a third of its term left (``mayAsk(_:nowMs:)``): a poll or a check that lost
/// its lease (it could not be renewed, or another instance took the contact over after a
/// freeze) stops asking the API, so no contact is asked by two instances at once.
///
/// Times are cluster times (`ClusterClock`): the database's clock.
final class ContactLeases: Sendable {
    private struct Held {
        var token: Int64
        var untilMs: Int64
    }

    private let held = Mutex<[Int64: Held]>([:])
    /// `database.leaseSeconds`, in ms.
    let durationMs: Int64

    init(durationMs: Int64) {
        self.durationMs = durationMs
    }

    /// Records contacts just claimed until `untilMs` (counted from before the claim was sent, so
    /// never later than what the database holds).
    func hold(_ contacts: [StoredContact], untilMs: Int64) {
        held.withLock { held in
            for contact in contacts {
                guard let token = contact.leaseToken else { continue }
                held[contact.id] = Held(token: token, untilMs: untilMs)
            }
        }
    }

    /// The heartbeat renewed these until `untilMs`; the others keep their term.
    func renewed(_ ids: Set<Int64>, untilMs: Int64) {
        held.withLock { held in
            for id in ids {
                guard let lease = held[id] else { continue }
                held[id]?.untilMs = max(lease.untilMs, untilMs)
            }
        }
    }

    /// Forgets the lease `token` on contact `id` (its poll ended, or it was given up); one that
    /// a later claim replaced stays.
    func forget(_ id: Int64, token: Int64?) {
        held.withLock { held in
            if held[id]?.token == token { held[id] = nil }
        }
    }

    /// The contacts whose leases the heartbeat renews.
    var ids: Set<Int64> { held.withLock { Set($0.keys) } }

    /// Whether a request may go out for `contact` at cluster time `nowMs`: it holds no lease (a
    /// store of one process), or its lease is still this one and has more than a third of its
    /// term left, so that the request is answered before anyone else may take the contact.
    func mayAsk(_ contact: StoredContact, nowMs: Int64) -> Bool {
        guard let token = contact.leaseToken else { return true }
        return held.withLock { held in
            guard let lease = held[contact.id], lease.token == token else { return false }
            return lease.untilMs - nowMs > durationMs / 3
        }
    }
}
