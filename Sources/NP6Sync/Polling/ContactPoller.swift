import Logging
import NP6Client
import NP6Model
import SyncStore

/// Polls one contact: requests its windows from the watermark up to now and stores what comes
/// back, keeping the watermark invariant (every event before it is stored) at every commit.
///
/// A poll has two halves. `fetch` makes the requests and queues the writes for group commit
/// (`PollWriteStore.submit`); `PendingPoll.completed()` waits for the commit. Callers that run many
/// polls free the request slot between the two, so the next requests overlap the commit and many
/// polls share one transaction. `poll` does both halves at once.
public struct ContactPoller: Sendable {
    /// The API: `NP6Client` over HTTP, or the simulator's model of it.
    public var client: any StopEventsAPI
    public var database: any ContactStore & PollWriteStore
    public var windows: WindowPolicy
    public var schedule: SchedulePolicy
    public var pacer: RequestPacer
    public var wallNowMs: @Sendable () -> Int64
    public var random: @Sendable () -> Double
    /// Called after each request with its duration (body included) and HTTP status (`nil`: no answer).
    public var onRequest: @Sendable (_ seconds: Double, _ status: Int?) -> Void = { _, _ in }
    /// Holds back `not_found` writes until a 200 shows that `api.baseURL` is right; `nil`: 404s
    /// are written at once.
    public var notFoundGate: NotFoundGate?
    /// Compares the API's `Date` with `wallNowMs` and caps watermarks at the API's time when the
    /// local clock is ahead; `nil`: the local clock is trusted.
    public var clockSkew: ClockSkewGuard?
    /// Whether a request for the contact may still go out: with leases (several daemons on one
    /// database), only while this instance's lease on it has time left. Asked before each
    /// request and again once the pacer lets it go; a poll that may no longer ask stops, with
    /// what it stored kept (`PollOutcome.stoppedWithoutLease`).
    public var mayAsk: @Sendable (StoredContact) -> Bool = { _ in true }

    public init(
        client: any StopEventsAPI,
        database: any ContactStore & PollWriteStore,
        windows: WindowPolicy,
        schedule: SchedulePolicy,
        pacer: RequestPacer,
        wallNowMs: @escaping @Sendable () -> Int64,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.client = client
        self.database = database
        self.windows = windows
        self.schedule = schedule
        self.pacer = pacer
        self.wallNowMs = wallNowMs
        self.random = random
    }

    /// Polls `contact` up to now and waits until what it found is committed. API faults end up
    /// in the outcome (and in the contact's row), as does a database that refused the writes
    /// (`.databaseFailed`); only cancellation is thrown.
    public func poll(_ contact: StoredContact, logger: Logger) async throws -> PollOutcome {
        let pending = try await fetch(contact, logger: logger)
        await database.flushWrites()
        return await pending.completed()
    }

    /// Requests `contact`'s windows up to now and queues what they return for commit. The
    /// outcome's `counts` are filled in by `PendingPoll.completed()`.
    public func fetch(_ contact: StoredContact, logger: Logger) async throws -> PendingPoll {
        var contact = contact
        if let clockSkew, clockSkew.isInTheFuture(contact.watermarkMs, localNowMs: wallNowMs()) {
            // Left by a clock that was ahead: polled from it, the events until then would be skipped.
            await clockSkew.bringBackFutureWatermarks(localNowMs: wallNowMs())
            contact = try await database.contact(contact.reference) ?? contact
        }
        var logger = logger
        logger[metadataKey: "contact.kind"] = "\(contact.reference.kind.rawValue)"
        logger[metadataKey: "contact.value"] = "\(contact.reference.value)"
        let pollNow = wallNowMs()
        var pending = PendingPoll(contact, database: database, logger: logger)
        var window = SyncWindow.first(watermarkMs: contact.watermarkMs, nowMs: pollNow, policy: windows)
        if window == nil {
            // Watermark or initial start ahead of the clock: nothing to ask for yet.
            await pending.submit(
                .finish(
                    contact: contact.pollTarget, events: [], malformed: [],
                    watermarkMs: contact.watermarkMs ?? windows.initialStartMs,
                    nextDueMs: nextDue(.caughtUp, contact), now: pollNow))
            return pending
        }
        while let current = window {
            let next = current.next(nowMs: pollNow, policy: windows)
            guard mayAsk(contact) else { return stopWithoutLease(pending, at: current) }
            let ticket = try await pacer.acquire()
            guard mayAsk(contact) else {
                await pacer.finish(ticket)
                return stopWithoutLease(pending, at: current)
            }
            let gateRound = await notFoundGate?.round
            pending.outcome.requests += 1
            let started = ContinuousClock.now
            do {
                do {
                    try await fetch(current, for: contact, isLastWindow: next == nil, ticket: ticket, into: &pending)
                } catch {
                    await pacer.finish(ticket)
                    throw error
                }
                await pacer.finish(ticket)
                onRequest((ContinuousClock.now - started).seconds, 200)
                for write in await notFoundGate?.answered(contactID: contact.id, round: gateRound) ?? [] {
                    await pending.submit(write)
                }
            } catch let error as NP6ClientError {
                onRequest((ContinuousClock.now - started).seconds, error.httpStatus)
                // A poll abandoned at shutdown is no failure of the contact: what it stored is
                // consistent (each batch commit keeps the watermark invariant); record nothing more.
                if Task.isCancelled { throw CancellationError() }
                pending.outcome.result = PollResult(error)
                if case .unauthorized = pending.outcome.result {
                    // Not this contact's fault: its row stays as it was.
                    return pending
                }
                let nextDueMs = nextDue(pending.outcome.result, contact)
                let failure = PollWrite.failure(
                    contact: contact.pollTarget, status: pending.outcome.result.contactStatus, error: error.description,
                    nextDueMs: nextDueMs, now: wallNowMs())
                if pending.outcome.result == .notFound, let notFoundGate {
                    switch await notFoundGate.notFound(failure, contactID: contact.id, round: gateRound) {
                    case .write(let writes):
                        for write in writes { await pending.submit(write) }
                    case .hold:
                        logger.debug("404 held back until a 200 shows api.baseURL is right")
                        return pending
                    case .misconfigured(let asked):
                        let url = StopEventsQuery(
                            contact: contact.reference, startMs: current.startMs, endMs: current.endMs
                        )
                        .url(baseURL: client.baseURL)
                        pending.outcome.misconfiguration = Misconfiguration(
                            baseURL: client.baseURL, requestedURL: url, contactsAsked: asked)
                        logger.error(
                            "Every contact asked got HTTP 404: api.baseURL or its path looks wrong; no contact marked not_found",
                            metadata: [
                                "api.base_url": "\(client.baseURL)", "http.url": "\(url)", "contacts": "\(asked)",
                            ])
                        return pending
                    }
                } else {
                    await pending.submit(failure)
                }
                logger.warning(
                    pending.outcome.result == .notFound
                        ? "Contact not found by the API; re-checking later" : "Poll failed",
                    metadata: [
                        "error": "\(error)", "http.status": "\(error.httpStatus.map(String.init) ?? "none")",
                        "window": "\(current)", "failures": "\(contact.consecutiveFailures + 1)",
                        "next_attempt": "\(Timestamp.iso8601(milliseconds: nextDueMs))",
                    ])
                return pending
            }
            window = next
        }
        return pending
    }

    /// Ends a poll whose lease ran low or was taken over before `window` was asked: another
    /// instance may poll the contact now, so this one asks nothing more and writes nothing more
    /// (its writes would be fenced anyway).
    private func stopWithoutLease(_ pending: PendingPoll, at window: SyncWindow) -> PendingPoll {
        var pending = pending
        pending.outcome.stoppedWithoutLease = true
        pending.logger.info(
            "Poll stopped: this instance no longer holds the contact's lease", metadata: ["window": "\(window)"])
        return pending
    }

    /// One request: streams the window's body into the write queue, batch by batch. The pacer
    /// hears the rate-limit headers as soon as the response head arrives.
    private func fetch(
        _ window: SyncWindow,
        for contact: StoredContact,
        isLastWindow: Bool,
        ticket: RequestTicket,
        into pending: inout PendingPoll
    ) async throws {
        var sorted = true
        var checkpointed = false
        var latestMs = Int64.min
        var quarantined = 0
        var reasons: [String] = []
        let sentMs = wallNowMs()
        var cappedEndMs: Int64?  // the window's end, or less when the local clock is ahead of the API's
        defer {
            if !sorted { pending.outcome.sawUnsortedBody = true }
            if quarantined > 0 {
                pending.logger.warning(
                    "Quarantined malformed elements",
                    metadata: ["count": "\(quarantined)", "reasons": "\(reasons.joined(separator: "; "))"])
            }
        }
        let query = StopEventsQuery(contact: contact.reference, startMs: window.startMs, endMs: window.endMs)
        let observe: (Int, RateLimitInfo?) async -> Void = { [pacer] status, rateLimit in
            await pacer.observe(ticket, rateLimit, rateLimited: status == 429)
        }
        try await client.fetchStopEvents(query, onHead: observe) { batch, isLast in
            if cappedEndMs == nil {
                let limit: Int64? =
                    if let clockSkew, let date = batch.serverDate {
                        await clockSkew.observe(date, requestSentMs: sentMs)
                    } else {
                        nil
                    }
                cappedEndMs = min(window.endMs, limit ?? window.endMs)
            }
            let endMs = cappedEndMs ?? window.endMs
            for event in batch.events {
                if event.timestampMs < latestMs { sorted = false }
                latestMs = max(latestMs, event.timestampMs)
            }
            quarantined += batch.malformed.count
            reasons += batch.malformed.prefix(3 - min(3, reasons.count)).map(\.reason)
            let now = wallNowMs()
            if isLast && isLastWindow {
                await pending.submit(
                    .finish(
                        contact: contact.pollTarget, events: batch.events, malformed: batch.malformed,
                        watermarkMs: endMs, nextDueMs: nextDue(.caughtUp, contact), now: now))
                return
            }
            // A complete window moves the watermark to its end; inside a sorted body, every event
            // before the latest one seen is known. A body found unsorted after earlier batches
            // were checkpointed takes the watermark back to where the window started, with this
            // batch: events before those checkpoints may still be unread.
            let checkpoint: PollWrite.Checkpoint?
            if isLast {
                checkpoint = .advance(toMs: endMs)
            } else if sorted {
                checkpoint = latestMs > window.startMs ? .advance(toMs: min(latestMs, endMs)) : nil
            } else if checkpointed {
                checkpoint = .rewind(toMs: watermarkBefore(window, of: contact))
                checkpointed = false
            } else {
                checkpoint = nil
            }
            if case .advance = checkpoint { checkpointed = true }
            await pending.submit(
                .batch(
                    contact: contact.pollTarget, events: batch.events, malformed: batch.malformed,
                    checkpoint: checkpoint, now: now))
        }
    }

    /// Where the watermark stood before the poll reached `window`: the contact's watermark for
    /// the first window (`nil` for a contact never synced), the window's start for a later one.
    private func watermarkBefore(_ window: SyncWindow, of contact: StoredContact) -> Int64? {
        guard let watermarkMs = contact.watermarkMs else {
            return window.startMs == windows.initialStartMs ? nil : window.startMs
        }
        return max(window.startMs, watermarkMs)
    }

    private func nextDue(_ result: PollResult, _ contact: StoredContact) -> Int64 {
        schedule.nextDueMs(
            after: result, failuresBefore: contact.consecutiveFailures, nowMs: wallNowMs(), random: random())
    }
}
