import NP6Model
import NP6Sync
import SyncStore
import Synchronization

/// The invariants, each with its own message.
extension SimulationRun {
    /// What the store holds, read through the real store (not the faulty wrapper).
    private struct Snapshot {
        var events: [StoredEvent] = []
        var contacts: [ContactReference: StoredContact] = [:]
    }

    private func readSnapshot() async throws -> Snapshot {
        var snapshot = Snapshot()
        let collected = EventCollector()
        try await store.inner.forEachEvent { event in collected.append(event) }
        snapshot.events = collected.events
        for contact in try await store.inner.contacts(afterID: 0, limit: 100_000, enabledOnly: false) {
            snapshot.contacts[contact.reference] = contact
        }
        return snapshot
    }

    /// After every pass and every drain.
    func checkStep() async {
        let snapshot: Snapshot
        do {
            snapshot = try await readSnapshot()
        } catch {
            return fail("the store could not be read: \(error)")
        }
        let modelEvents = model.events
        let served = model.servedNumbers
        var byPayload: [[UInt8]: ModelEvent] = [:]
        for events in modelEvents { for event in events { byPayload[event.payload] = event } }
        var storedCount: [Int: Int] = [:]

        // Every event stored once, byte-exact, under its contact.
        checks += 1
        for stored in snapshot.events {
            guard let event = byPayload[Array(stored.payload.utf8)] else {
                fail(
                    "stored bytes the API never sent (altered or invented): seq \(stored.seq), id \(stored.id.debugDescription), payload \(stored.payload.debugDescription)"
                )
                continue
            }
            storedCount[event.number, default: 0] += 1
            if storedCount[event.number] == 2 { fail("event #\(event.number) stored twice") }
            if stored.contact != model.contacts[event.contact].reference {
                fail(
                    "event #\(event.number) stored under \(stored.contact.map(\.description) ?? "no contact"), served for \(model.contacts[event.contact].reference)"
                )
            }
        }

        // No watermark past an event the API served and the store does not hold, so far that
        // the next poll (from the watermark less the lookback) would not ask for it again. Not
        // past the event at all would be too strict: an event published late is stamped before
        // a watermark that moved before it existed, and the lookback is what finds it.
        checks += 1
        for contact in model.contacts where contact.known {
            guard let watermark = snapshot.contacts[contact.reference]?.watermarkMs else { continue }
            let nextStart = max(world.windows.initialStartMs, watermark - world.windows.lookbackMs)
            for event in modelEvents[contact.index]
            where served.contains(event.number) && event.timestampMs < nextStart && storedCount[event.number] == nil {
                fail(
                    "watermark of \(contact.reference) is \(watermark): the next poll starts at \(nextStart), after event #\(event.number) (timestamp \(event.timestampMs)) that the API served and the store does not hold\(event.idNote)"
                )
            }
        }

        // No sink cursor past an event its sink did not take in (or set aside as a dead letter).
        checks += 1
        for sink in sinks {
            guard let cursor = try? await store.inner.sinkCursor(sink.name) else { continue }
            let handled = await handled(by: sink)
            for stored in snapshot.events where stored.seq <= cursor.deliveredSeq && !handled.contains(stored.seq) {
                fail(
                    "the cursor of \(sink.name) is at seq \(cursor.deliveredSeq), past seq \(stored.seq) it never acknowledged"
                )
                break
            }
        }
    }

    /// Once the world is quiet: everything served is stored, everything that should have been
    /// found was, and every sink has everything.
    func checkFinal(publishedBeforeMs: Int64) async {
        guard let snapshot = try? await readSnapshot() else { return fail("the store could not be read") }
        let stored = Set(snapshot.events.map { Array($0.payload.utf8) })
        let served = model.servedNumbers
        let margin = ClockSkewGuard.boundMs + 20_000
        checks += 2
        for contact in model.contacts where contact.known {
            for event in model.events[contact.index] where !stored.contains(event.payload) {
                if served.contains(event.number) {
                    fail(
                        "event #\(event.number) of \(contact.reference) (timestamp \(event.timestampMs)) was served but never stored\(event.idNote)"
                    )
                } else if event.timestampMs >= world.windows.initialStartMs, event.publishedMs < publishedBeforeMs,
                    event.lateness <= world.windows.lookbackMs - margin
                {
                    fail(
                        "event #\(event.number) of \(contact.reference) (timestamp \(event.timestampMs), published \(event.lateness) ms late, within the lookback) was never asked for"
                    )
                }
            }
        }
        checks += 1
        for sink in sinks {
            let handled = await handled(by: sink)
            let missing = snapshot.events.filter { !handled.contains($0.seq) }
            if let first = missing.first {
                fail("\(sink.name) never acknowledged \(missing.count) stored event(s), the first seq \(first.seq)")
            }
        }
    }

    /// The seqs a sink took in, and those it set aside as dead letters.
    private func handled(by sink: ModelSink) async -> Set<Int64> {
        var handled = sink.received
        if let letters = try? await store.inner.pendingDeadLetters(for: sink.name) {
            handled.formUnion(letters.map(\.eventSeq))
        }
        return handled
    }
}

/// Collects what `forEachEvent` hands over (on the store's thread).
private final class EventCollector: Sendable {
    private let collected = Mutex<[StoredEvent]>([])
    func append(_ event: StoredEvent) { collected.withLock { $0.append(event) } }
    var events: [StoredEvent] { collected.withLock { $0 } }
}
