import NP6Model
import SyncStore
import Synchronization

/// The real store, wrapped by role to inject the database's faults: a write refused (locked,
/// full, I/O error, read-only), a read that fails, a sink cursor move whose answer is lost after
/// it committed, and the crash of the instance at a chosen write.
///
/// Decisions are drawn from streams of their own: one for the polls' path (which the simulator
/// runs one request at a time) and one per sink (whose loops run concurrently), so the same
/// seed makes the same decisions however the machine interleaves the sinks.
final class FaultyStore: ContactStore, PollWriteStore, SinkCursorStore, SinkReplayStore {
    struct Faults: Sendable, Hashable {
        var writeRefused = 0.0
        var readFailed = 0.0
        var sinkCallFailed = 0.0
        var cursorAnswerLost = 0.0
        static let none = Faults()
    }

    private struct State {
        var random: SimulationRandom
        var sinkRandoms: [String: SimulationRandom] = [:]
        var faults: Faults
        var submits = 0
        var crashAtSubmit: Int?
    }

    let inner: any EventStore
    let instance: SimulatedInstance
    let canary: Simulator.Canary?
    private let trace: SimulationTrace
    private let seed: SimulationRandom
    private let state: Mutex<State>

    init(
        _ inner: any EventStore, instance: SimulatedInstance, faults: Faults, crashAtSubmit: Int?,
        canary: Simulator.Canary?, random: SimulationRandom, trace: SimulationTrace
    ) {
        self.inner = inner
        self.instance = instance
        self.canary = canary
        self.trace = trace
        self.seed = random
        state = Mutex(State(random: random.stream("polls"), faults: faults, crashAtSubmit: crashAtSubmit))
    }

    var faults: Faults {
        get { state.withLock { $0.faults } }
        set { state.withLock { $0.faults = newValue } }
    }

    /// The world quiets down: no more faults, no crash to come.
    func quiet() {
        state.withLock { state in
            state.faults = .none
            state.crashAtSubmit = nil
        }
    }

    private static let codes: [DatabaseErrorCode] = [.busy, .full, .ioerr, .readonly]

    private func drawError(_ p: Double) -> SyncStoreError? {
        state.withLock { state in
            guard state.random.chance(p) else { return nil }
            return .unavailable(code: state.random.pick(Self.codes), message: "simulated")
        }
    }

    private func drawSinkError(_ sink: String, _ p: (Faults) -> Double) -> SyncStoreError? {
        state.withLock { state in
            var random = state.sinkRandoms[sink] ?? seed.stream("sink:\(sink)")
            defer { state.sinkRandoms[sink] = random }
            guard random.chance(p(state.faults)) else { return nil }
            return .unavailable(code: random.pick(Self.codes), message: "simulated")
        }
    }

    // MARK: PollWriteStore

    func submit(_ write: PollWrite, for group: PollWriteGroup) async {
        let (number, decision) = state.withLock { state -> (Int, Decision) in
            state.submits += 1
            if state.submits == state.crashAtSubmit { return (state.submits, .crash) }
            if state.random.chance(state.faults.writeRefused) {
                return (state.submits, .refuse(.unavailable(code: state.random.pick(Self.codes), message: "simulated")))
            }
            return (state.submits, .forward)
        }
        if instance.isCrashed {
            group.submitted()
            group.settle(.failure(SimulatedCrash()))
            return
        }
        if canary == .watermarkBeforeEvents, let split = Self.splitCanary(write) {
            // The deliberate bug: the watermark commits first, its events after.
            await inner.submit(split.watermark, for: group)
            await inner.flushWrites()
            return await submitDecided(split.events, number: number, decision: decision, group: group)
        }
        await submitDecided(write, number: number, decision: decision, group: group)
    }

    private enum Decision {
        case forward
        case refuse(SyncStoreError)
        case crash
    }

    private func submitDecided(_ write: PollWrite, number: Int, decision: Decision, group: PollWriteGroup) async {
        switch decision {
        case .forward:
            trace.record("write #\(number) \(Self.describe(write))")
            await inner.submit(write, for: group)
        case .refuse(let error):
            trace.record("write #\(number) \(Self.describe(write)) REFUSED \(error)")
            // The writes before it commit (the queue applies them in order), this one fails.
            await inner.flushWrites()
            group.submitted()
            group.settle(.failure(error))
        case .crash:
            trace.record("write #\(number) \(Self.describe(write)) CRASH before it commits")
            instance.crash()
            await inner.flushWrites()
            group.submitted()
            group.settle(.failure(SimulatedCrash()))
        }
    }

    func flushWrites() async { await inner.flushWrites() }

    func bringBackFutureTimes(
        watermarksAfterMs: Int64, dueTimesAfterMs: Int64?, notFoundDueTimesAfterMs: Int64?, toMs: Int64
    ) async throws -> Int {
        if instance.isCrashed { throw SimulatedCrash() }
        let changed = try await inner.bringBackFutureTimes(
            watermarksAfterMs: watermarksAfterMs, dueTimesAfterMs: dueTimesAfterMs,
            notFoundDueTimesAfterMs: notFoundDueTimesAfterMs, toMs: toMs)
        trace.record("brought back \(changed) future times to \(toMs)")
        return changed
    }

    func recordRun(_ run: SyncRunSummary) async throws {
        if instance.isCrashed { throw SimulatedCrash() }
        try await inner.recordRun(run)
    }

    /// The canary's split of a write that stores events and moves the watermark: the watermark
    /// alone, then the events alone.
    private static func splitCanary(_ write: PollWrite) -> (watermark: PollWrite, events: PollWrite)? {
        switch write {
        case .batch(let contact, let events, let malformed, .some(.advance(let ms)), let now) where !events.isEmpty:
            return (
                .batch(contact: contact, events: [], malformed: [], checkpoint: .advance(toMs: ms), now: now),
                .batch(contact: contact, events: events, malformed: malformed, checkpoint: nil, now: now)
            )
        case .finish(let contact, let events, let malformed, let watermarkMs, let nextDueMs, let now)
        where !events.isEmpty:
            return (
                .finish(
                    contact: contact, events: [], malformed: [], watermarkMs: watermarkMs, nextDueMs: nextDueMs,
                    now: now),
                .batch(contact: contact, events: events, malformed: malformed, checkpoint: nil, now: now)
            )
        default:
            return nil
        }
    }

    static func describe(_ write: PollWrite) -> String {
        switch write {
        case .batch(let contact, let events, let malformed, let checkpoint, _):
            let mark =
                switch checkpoint {
                case .advance(let ms): " advance to \(ms)"
                case .rewind(let ms): " rewind to \(ms.map(String.init) ?? "nil")"
                case nil: ""
                }
            return "batch c\(contact.id) \(events.count) events \(malformed.count) malformed\(mark)"
        case .finish(let contact, let events, let malformed, let watermarkMs, _, _):
            return "finish c\(contact.id) \(events.count) events \(malformed.count) malformed watermark \(watermarkMs)"
        case .failure(let contact, let status, let error, _, _):
            return "failure c\(contact.id) \(status.rawValue): \(error)"
        }
    }

    // MARK: ContactStore

    func addContacts<Produced: Sendable>(
        now: Int64, _ produce: @escaping @Sendable (_ add: (ContactReference) throws -> Void) throws -> Produced
    ) async throws -> (added: AddedContacts, produced: Produced) {
        try await inner.addContacts(now: now, produce)
    }

    func removeContact(_ reference: ContactReference) async throws -> Bool {
        try await inner.removeContact(reference)
    }

    func contact(_ reference: ContactReference) async throws -> StoredContact? {
        if instance.isCrashed { throw SimulatedCrash() }
        return try await inner.contact(reference)
    }

    func contacts(afterID: Int64, limit: Int, enabledOnly: Bool) async throws -> [StoredContact] {
        if instance.isCrashed { throw SimulatedCrash() }
        if let error = drawError(faults.readFailed) {
            trace.record("read contacts FAILED \(error)")
            throw error
        }
        return try await inner.contacts(afterID: afterID, limit: limit, enabledOnly: enabledOnly)
    }

    func setWatermark(_ reference: ContactReference, to watermarkMs: Int64?, now: Int64) async throws -> Bool {
        try await inner.setWatermark(reference, to: watermarkMs, now: now)
    }

    func recheckContacts(_ references: [ContactReference], now: Int64) async throws -> [ContactReference] {
        try await inner.recheckContacts(references, now: now)
    }

    func recheckNotFoundContacts(now: Int64) async throws -> Int {
        try await inner.recheckNotFoundContacts(now: now)
    }

    // MARK: SinkCursorStore

    func databaseID() async throws -> String { try await inner.databaseID() }

    func createSinkCursor(_ sink: String, startingAfterLatest: Bool, now: Int64) async throws -> SinkCursor {
        try await inner.createSinkCursor(sink, startingAfterLatest: startingAfterLatest, now: now)
    }

    func sinkCursor(_ sink: String) async throws -> SinkCursor? { try await inner.sinkCursor(sink) }

    func pendingBatch(for sink: String, limit: Int) async throws -> (cursor: SinkCursor, events: [StoredEvent])? {
        if let error = drawSinkError(sink, \.sinkCallFailed) {
            trace.record("read pending batch FAILED \(error)", channel: "sink \(sink)")
            throw error
        }
        let batch = try await inner.pendingBatch(for: sink, limit: limit)
        if canary == .cursorBeforeAcknowledgement, let batch, let last = batch.events.last {
            // The deliberate bug: the cursor moves when the batch is read.
            _ = try await inner.advanceSinkCursor(
                sink, from: batch.cursor.deliveredSeq, to: last.seq, now: 0, fencedBy: nil)
        }
        return batch
    }

    func advanceSinkCursor(
        _ sink: String, from expectedSeq: Int64, to seq: Int64, now: Int64, fencedBy leaseToken: Int64?
    ) async throws -> Bool {
        if let error = drawSinkError(sink, \.sinkCallFailed) {
            trace.record("cursor \(expectedSeq) -> \(seq) FAILED \(error)", channel: "sink \(sink)")
            throw error
        }
        let moved = try await inner.advanceSinkCursor(
            sink, from: expectedSeq, to: seq, now: now, fencedBy: leaseToken)
        if let error = drawSinkError(sink, \.cursorAnswerLost) {
            trace.record("cursor \(expectedSeq) -> \(seq) moved \(moved), answer LOST", channel: "sink \(sink)")
            throw error
        }
        trace.record("cursor \(expectedSeq) -> \(seq) moved \(moved)", channel: "sink \(sink)")
        return moved
    }

    func recordSinkFailure(
        _ sink: String, state: SinkState, error: String, now: Int64, fencedBy leaseToken: Int64?
    ) async throws {
        try await inner.recordSinkFailure(sink, state: state, error: error, now: now, fencedBy: leaseToken)
    }

    func recordSinkRunning(_ sink: String, now: Int64, fencedBy leaseToken: Int64?) async throws {
        try await inner.recordSinkRunning(sink, now: now, fencedBy: leaseToken)
    }

    func recordDeadLetter(
        _ sink: String, event: StoredEvent, answer: String, advancingCursorFrom expectedSeq: Int64, now: Int64,
        fencedBy leaseToken: Int64?
    ) async throws -> Bool {
        if let error = drawSinkError(sink, \.sinkCallFailed) {
            trace.record("dead letter seq \(event.seq) FAILED \(error)", channel: "sink \(sink)")
            throw error
        }
        let moved = try await inner.recordDeadLetter(
            sink, event: event, answer: answer, advancingCursorFrom: expectedSeq, now: now, fencedBy: leaseToken)
        trace.record("dead letter seq \(event.seq) moved \(moved)", channel: "sink \(sink)")
        return moved
    }

    // MARK: SinkReplayStore

    func pendingDeadLetters(for sink: String) async throws -> [DeadLetter] {
        try await inner.pendingDeadLetters(for: sink)
    }

    func recordDeadLetterResend(_ sink: String, seq: Int64, rejectedWith answer: String?, now: Int64) async throws {
        try await inner.recordDeadLetterResend(sink, seq: seq, rejectedWith: answer, now: now)
    }

    func rewindSinkCursor(_ sink: String, toRedeliverFromSeq seq: Int64, now: Int64) async throws -> SinkRewind {
        try await inner.rewindSinkCursor(sink, toRedeliverFromSeq: seq, now: now)
    }

    func rewindSinkCursor(_ sink: String, toRedeliverSinceMs sinceMs: Int64, now: Int64) async throws -> SinkRewind {
        try await inner.rewindSinkCursor(sink, toRedeliverSinceMs: sinceMs, now: now)
    }

    func startDeliveryGeneration(_ sink: String, now: Int64) async throws -> Int64 {
        try await inner.startDeliveryGeneration(sink, now: now)
    }
}
