import Foundation
import Sinks
import SyncStore
import Synchronization

/// A receiver of one sink: it fails now and then, sometimes after it took the batch in (its
/// answer lost), rejects some events for good, and remembers the idempotency keys it
/// acknowledged, answering a repeated key without looking at the batch, as a webhook receiver
/// that honours `Idempotency-Key` does.
final class ModelSink: EventSink {
    struct Behaviour: Sendable, Hashable {
        var failure = 0.0
        var answerLost = 0.0
        /// Rejects for good the events whose number is a multiple of this (0: none).
        var rejectEvery = 0
        static let none = Behaviour()
    }

    private struct State {
        var random: SimulationRandom
        var behaviour: Behaviour
        var keys: Set<String> = []
        /// Seqs taken in (acknowledged, or taken in and the answer lost).
        var received: Set<Int64> = []
        var deliveries = 0
    }

    let name: String
    let canary: Simulator.Canary?
    private let trace: SimulationTrace
    private let state: Mutex<State>

    init(
        name: String, behaviour: Behaviour, canary: Simulator.Canary?, random: SimulationRandom,
        trace: SimulationTrace
    ) {
        self.name = name
        self.canary = canary
        self.trace = trace
        state = Mutex(State(random: random, behaviour: behaviour))
    }

    var behaviour: Behaviour {
        get { state.withLock { $0.behaviour } }
        set { state.withLock { $0.behaviour = newValue } }
    }

    var received: Set<Int64> { state.withLock { $0.received } }

    func deliver(_ batch: [StoredEvent]) async throws {
        try await deliver(batch, as: SinkDelivery(databaseID: "none", generation: 0))
    }

    func deliver(_ batch: [StoredEvent], as delivery: SinkDelivery) async throws {
        let key =
            canary == .idempotencyKeyReused
            ? "\(delivery.databaseID):\(name):\(delivery.generation)"  // the deliberate bug
            : delivery.idempotencyKey(sink: name, batch: batch)
        let range = "seq \(batch.first?.seq ?? 0)...\(batch.last?.seq ?? 0) (\(batch.count))"
        let outcome: Result<String, SinkError> = state.withLock { state in
            state.deliveries += 1
            if state.keys.contains(key) { return .success("known key, acknowledged") }
            if state.random.chance(state.behaviour.failure) {
                return .failure(.transient(reason: "simulated 503", retryAfter: nil))
            }
            if state.behaviour.rejectEvery > 0,
                let rejected = batch.first(where: { Self.number(of: $0) % state.behaviour.rejectEvery == 0 })
            {
                return .failure(.permanent(reason: "simulated 422 for seq \(rejected.seq)"))
            }
            state.received.formUnion(batch.map(\.seq))
            if state.random.chance(state.behaviour.answerLost) {
                return .failure(.transient(reason: "simulated timeout after the batch was taken", retryAfter: nil))
            }
            state.keys.insert(key)
            return .success("acknowledged")
        }
        switch outcome {
        case .success(let what):
            trace.record("deliver \(range) \(what)", channel: "sink \(name)")
        case .failure(let error):
            trace.record("deliver \(range) \(error)", channel: "sink \(name)")
            throw error
        }
    }

    /// The model's event number, from the payload's `"n":` field.
    static func number(of event: StoredEvent) -> Int {
        guard let range = event.payload.range(of: "\"n\":") else { return -1 }
        return Int(event.payload[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }
}
