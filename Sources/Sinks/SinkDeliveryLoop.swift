import Config
import Logging
import NP6Model
import ServiceLifecycle
import SyncStore

/// One sink's delivery: read the events after its cursor in batches, deliver, advance the cursor.
///
/// The cursor moves only after the sink acknowledged a batch (or after a rejected event was
/// recorded as a dead letter, in the same transaction), so a crash at any point redelivers,
/// never skips. The loop is its sink's failure boundary: whatever the sink or the database
/// does, it backs off and goes on, or stops this sink alone. With ``leasing`` it delivers only
/// while it holds its sink's lease, and fences its cursor writes by the lease's token.
struct SinkDeliveryLoop: Sendable {
    let configuration: SinkConfiguration
    let sink: any EventSink
    let database: any SinkCursorStore
    let policy: SinkDeliveryPolicy
    let control: SinkLoopControl
    /// Carries `sink.name` and `sink.type`.
    let logger: Logger
    /// Counts acknowledged events and failed attempts, when the daemon serves metrics.
    var metrics: (any SinkDeliveryMetrics)?
    /// Several instances on one database: deliver only while holding the sink's lease.
    var leasing: InstanceLease?
    var nowMs: @Sendable () -> Int64 = WallClock.nowMs
    var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    var name: String { configuration.name }

    /// What one step of the loop came to.
    enum Step: Sendable {
        case delivered(events: Int, deadLettered: Int)
        case caughtUp
        /// A replay moved the cursor while the batch was out: read again from the new cursor.
        case cursorMoved
        case failed(SinkError)
        /// The database refused a read or the cursor's write: not the sink's failure, so it is
        /// not recorded against the sink (the database would refuse that too), only retried.
        case databaseFailed(String)
    }

    private var shouldStop: Bool {
        control.isStopRequested || Task.isCancelled || Task.isShuttingDownGracefully
    }

    /// Delivers until asked to stop: waits for new events when caught up, backs off on transient
    /// failures, and, when the receiver rejects a batch without `deadLetter`, records the sink
    /// `stopped` and waits for a replay (or a reload, which replaces this loop). With
    /// ``leasing``, a task beside it keeps the sink's lease, and the lease is given up at the end.
    func run() async {
        guard let databaseID = await prepare(markingRunning: leasing == nil) else { return }
        logger.info("Sink started", metadata: ["sink.from": "\(configuration.from)"])
        if let leasing {
            let lease = SinkLeaseState()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await keep(lease, leasing) }
                await deliver(databaseID: databaseID, lease: lease, leasing: leasing)
                group.cancelAll()
            }
            do {
                try await leasing.store.releaseSinkLease(name, of: leasing.instance)
            } catch {
                logger.warning(
                    "Could not give the sink's lease up; another instance takes it over when it expires",
                    metadata: ["error": "\(error)"])
            }
        } else {
            await deliver(databaseID: databaseID, lease: nil, leasing: nil)
        }
        logger.info("Sink stopped at a batch boundary")
    }

    private func deliver(databaseID: String, lease: SinkLeaseState?, leasing: InstanceLease?) async {
        var failures = 0
        var deliveringUnder: Int64?
        while !shouldStop {
            var leaseToken: Int64?
            if let lease, let leasing {
                // A batch starts only with more than a third of the lease left: one whose renewal
                // failed stops before it could run out mid-batch.
                guard let token = lease.token(nowMs: nowMs() + leasing.renewEveryMs) else {
                    deliveringUnder = nil
                    await control.wait(for: .milliseconds(leasing.retryEveryMs), wakingOn: .lease)
                    continue
                }
                if token != deliveringUnder {
                    // Taken (or taken back): the sink runs again here, as after a restart.
                    deliveringUnder = token
                    await recordRunning(fencedBy: token)
                }
                leaseToken = token
            }
            switch await step(databaseID: databaseID, leaseToken: leaseToken) {
            case .cursorMoved where lease != nil:
                // A replay, or another instance that took the lease: ask the database which.
                if let lease, let leasing { await renew(lease, leasing) }
            case .delivered, .cursorMoved:
                if failures > 0 {
                    logger.info("Sink recovered", metadata: ["sink.failures": "\(failures)"])
                    failures = 0
                }
            case .caughtUp:
                await control.wait(for: policy.pollInterval, wakingOn: .events)
            case .databaseFailed(let reason):
                failures += 1
                let delay = policy.retryDelay(afterFailures: failures, retryAfter: nil, random: random())
                logger.warning(
                    "Sink waiting for the database; retrying",
                    metadata: [
                        "error": "\(reason)", "sink.failures": "\(failures)", "retry.delay_ms": "\(delay.milliseconds)",
                    ])
                await control.wait(for: delay, wakingOn: [])
            case .failed(.transient(let reason, let retryAfter)):
                failures += 1
                let delay = policy.retryDelay(afterFailures: failures, retryAfter: retryAfter, random: random())
                await record(.failing, reason, fencedBy: leaseToken)
                logger.warning(
                    "Sink delivery failed; retrying",
                    metadata: [
                        "error": "\(reason)", "sink.failures": "\(failures)", "retry.delay_ms": "\(delay.milliseconds)",
                    ])
                await control.wait(for: delay, wakingOn: [])
            case .failed(let error):
                await record(.stopped, error.reason, fencedBy: leaseToken)
                logger.error(
                    "Sink stopped: its receiver rejected the delivery; fix it, then reload or run sinks replay",
                    metadata: ["error": "\(error.reason)"])
                failures = 0
                guard await waitUntilResumed() else { return }
                logger.info("Sink resumed")
            }
        }
    }

    /// Creates the cursor the first time the sink runs, records the sink running and reads the
    /// database's identity; retries a failing database until asked to stop, or `attempts` times.
    /// `nil` when stopped (or out of attempts) first.
    /// With leases, the state is recorded only once the lease is taken (`markingRunning` false):
    /// another instance may be delivering the sink.
    func prepare(attempts: Int = .max, markingRunning: Bool = true) async -> String? {
        var failures = 0
        while !shouldStop, failures < attempts {
            do {
                let cursor = try await database.createSinkCursor(
                    name, startingAfterLatest: configuration.from == .now, now: nowMs())
                if markingRunning { try await database.recordSinkRunning(name, now: nowMs()) }
                let databaseID = try await database.databaseID()
                logger.debug(
                    "Sink cursor",
                    metadata: [
                        "sink.cursor": "\(cursor.deliveredSeq)", "sink.generation": "\(cursor.deliveryGeneration)",
                    ])
                return databaseID
            } catch {
                failures += 1
                metrics?.recordDatabaseError(DatabaseErrorCode(error))
                logger.error("Sink cannot read its cursor", metadata: ["error": "\(error)"])
                guard failures < attempts else { return nil }
                await control.wait(
                    for: policy.retryDelay(afterFailures: failures, retryAfter: nil, random: random()), wakingOn: [])
            }
        }
        return nil
    }

    /// One batch: read it after the cursor, deliver it (isolating rejected events when
    /// dead-lettering), advance the cursor. A database error counts as a transient failure.
    /// The batch is delivered under the cursor's generation, read with it: a retry keeps its
    /// idempotency key, a replay (which starts a new generation) changes it. With `leaseToken`
    /// the cursor moves only while the sink's lease is still that one.
    func step(databaseID: String, leaseToken: Int64? = nil) async -> Step {
        do {
            guard let (cursor, events) = try await database.pendingBatch(for: name, limit: configuration.batchSize)
            else {
                // The cursor row was deleted by hand: start again as a new sink would.
                try await database.createSinkCursor(name, startingAfterLatest: configuration.from == .now, now: nowMs())
                return .cursorMoved
            }
            guard !events.isEmpty else { return .caughtUp }
            logger.debug(
                "Delivering batch",
                metadata: ["event.first_seq": "\(events[0].seq)", "event.last_seq": "\(events[events.count - 1].seq)"])
            let delivery = SinkDelivery(databaseID: databaseID, generation: cursor.deliveryGeneration)
            if configuration.deadLetter {
                return try await deliverIsolatingRejections(
                    events[...], after: cursor.deliveredSeq, as: delivery, fencedBy: leaseToken)
            }
            if let error = await attempt(events[...], as: delivery) { return .failed(error) }
            let moved = try await database.advanceSinkCursor(
                name, from: cursor.deliveredSeq, to: events[events.count - 1].seq, now: nowMs(), fencedBy: leaseToken)
            guard moved else { return .cursorMoved }
            metrics?.recordSinkDelivered(sink: name, events: events.count)
            return .delivered(events: events.count, deadLettered: 0)
        } catch {
            // Everything the loop does outside `attempt` is the database's: count it as such, and
            // back off (the batch is delivered again, at least once).
            metrics?.recordDatabaseError(DatabaseErrorCode(error))
            return .databaseFailed("database: \(error)")
        }
    }

    /// Hands the batch to the sink; `nil` when acknowledged. Errors other than ``SinkError`` are
    /// transient. Each error counts as a failed attempt in the metrics.
    func attempt(_ batch: ArraySlice<StoredEvent>, as delivery: SinkDelivery) async -> SinkError? {
        let error: SinkError
        do {
            try await sink.deliver(Array(batch), as: delivery)
            return nil
        } catch let sinkError as SinkError {
            error = sinkError
        } catch let other {
            error = .transient(reason: "\(other)", retryAfter: nil)
        }
        metrics?.recordSinkFailure(sink: name)
        return error
    }

    func record(_ state: SinkState, _ reason: String, fencedBy leaseToken: Int64? = nil) async {
        do {
            try await database.recordSinkFailure(name, state: state, error: reason, now: nowMs(), fencedBy: leaseToken)
        } catch {
            logger.error("Sink state could not be recorded", metadata: ["error": "\(error)"])
        }
    }

    private func recordRunning(fencedBy leaseToken: Int64) async {
        do {
            try await database.recordSinkRunning(name, now: nowMs(), fencedBy: leaseToken)
        } catch {
            logger.error("Sink state could not be recorded", metadata: ["error": "\(error)"])
        }
    }

    /// Waits, as a `stopped` sink, until `np6-sync sinks replay` marks it running again in the
    /// database. `false` when asked to stop first (a reload replaces the loop).
    private func waitUntilResumed() async -> Bool {
        while !shouldStop {
            await control.wait(for: policy.pollInterval, wakingOn: [])
            if let cursor = try? await database.sinkCursor(name), cursor.state != .stopped { return true }
        }
        return false
    }
}
