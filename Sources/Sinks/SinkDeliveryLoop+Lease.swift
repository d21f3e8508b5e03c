import Config
import Logging
import NP6Model
import SyncStore

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

extension SinkDeliveryLoop {
    /// Keeps the sink's lease until cancelled: renews it every third of the lease while held,
    /// asks for it about every second while not, and wakes the delivery when it is taken.
    /// Goes on while a stopping loop finishes its batch (the run cancels it after).
    func keep(_ lease: SinkLeaseState, _ leasing: InstanceLease) async {
        while !Task.isCancelled {
            let held = await renew(lease, leasing)
            try? await control.clock.sleep(for: .milliseconds(held ? leasing.renewEveryMs : leasing.retryEveryMs))
        }
    }

    /// Claims or renews the lease once; returns whether it is held. A database error keeps what
    /// was held until it runs out by the local clock.
    @discardableResult
    func renew(_ lease: SinkLeaseState, _ leasing: InstanceLease) async -> Bool {
        let sent = nowMs()
        let until = sent + leasing.durationMs
        var token: Int64?
        do {
            token = try await leasing.store.claimSinkLease(
                name, for: leasing.instance, nowMs: sent, leaseUntilMs: until)
            if token == nil, try await database.sinkCursor(name) == nil {
                // The cursor row was deleted by hand: start again as a new sink would.
                try await database.createSinkCursor(name, startingAfterLatest: configuration.from == .now, now: sent)
                token = try await leasing.store.claimSinkLease(
                    name, for: leasing.instance, nowMs: sent, leaseUntilMs: until)
            }
        } catch {
            metrics?.recordDatabaseError(DatabaseErrorCode(error))
            logger.warning("Sink lease could not be renewed", metadata: ["error": "\(error)"])
            return false
        }
        let before = lease.update(token: token, untilMs: until)
        switch (before, token) {
        case (nil, let token?):
            logger.info("Sink lease taken; delivering from this instance", metadata: ["sink.lease_token": "\(token)"])
            control.signal(.lease)
        case (let before?, let token?) where before != token:
            logger.info(
                "Sink lease taken again; delivering from this instance", metadata: ["sink.lease_token": "\(token)"])
            control.signal(.lease)
        case (_?, nil):
            logger.warning("Sink lease lost to another instance; no longer delivering from this one")
        default:
            break
        }
        return token != nil
    }
}
